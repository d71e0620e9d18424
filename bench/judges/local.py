"""Local judges: a GGUF model (bench.judges.local_models) behind llama-cpp-python's server on loopback.

Rating modes (judging protocols, bench.judges.protocols: prompt id and how the verdict is read), part of the
judge's settings, cache key and every result row:

- ``greedy``: the chat endpoint, output constrained by a GBNF grammar to a one-sentence explanation followed
  by ``[[N]]`` (N in 1..10), parsed as FastChat does. SmolLM2-135M seldom writes ``[[N]]`` by itself.
- ``expected``: the judge prompt exactly as given (for MT-Bench FastChat's official single-answer prompt,
  unchanged), rendered with the model's own chat template (from the GGUF, through transformers), and the
  assistant's reply forced to begin with "Rating: [[" -- so the judge rates without writing its explanation
  first. The server's ``/v1/completions`` returns the top-k log-probabilities of the next token (streamed, so
  only that token's distribution is computed); a second request with "1" appended splits "1" into the ratings
  1 and 10 (llama.cpp reuses the evaluated prefix, so it costs one token). The rating is E[rating] over 1..10
  (bench.judges.expected_rating). Requests go out one at a time, in the order of their prompts (``rate``), so
  neighbours share the longest evaluated prefix; the ratings come back in the caller's order.
- ``noexample``: as ``expected`` on the prompt without the example rating of its format line.
- ``explain``: the judge writes its explanation first (greedy, short), then E[rating] after its own "Rating: [[".
- ``pairwise``: two answers in FastChat's pairwise prompt, reply forced to "[["; P(A), P(B), P(tie) in both orders,
  averaged (``prefer``); the position-consistency of each pair is returned with it.

The server starts on first use (not at all when every answer is cached) and stops on ``close()``.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Sequence

import httpx

from .base import PairRequest, Preference, Rating, RatingRequest
from .cache import request_key
from .expected_rating import RATING_PREFIX, needs_second_look, pair_distribution, rating_distribution
from .judge_tokenizer import gguf_tokenizer
from .protocols import EXPLAIN_PREFIX, EXPLAIN_TOKENS, PAIR_LABELS, PAIR_PREFIX, cut_explanation, example_free, pair_messages, protocol
from .local_models import LOCAL_MODELS, canonical_id, parse_local_id
from .local_server import LocalServer, file_digest
from .openai_compat import RETRY_STATUS, OpenAICompatJudge, _Fatal, _Retry
from .parsing import RATING_GRAMMAR

log = logging.getLogger(__name__)
NEXT_DIGIT_GRAMMAR = 'root ::= [0-9] | "]"'  # what is sampled does not matter; it only keeps EOS from ending the stream
NEXT_LABEL_GRAMMAR = 'root ::= [ABC]'
EXPLAIN_STOP = ["Rating", "[["]
PROBABILITY_MODES = ("expected", "noexample", "explain", "pairwise")


def model_digest(model, path: Path) -> str:
    """sha256 prefix of the GGUF: the pinned one for a hash-verified assembled file (no 1 GB re-read)."""
    known = model.known_sha256() if model else None
    return known[:12] if known else file_digest(path)


class LocalJudge(OpenAICompatJudge):
    kind = "local-llama.cpp"

    def __init__(self, judge_id: str = "local-smollm2", model_path: Path | None = None, cache_path: Path | None = None,
                 rating: str | None = None, max_tokens: int = 96, concurrency: int = 1, timeout_s: float = 180.0,
                 max_retries: int = 1, log_path: Path | None = None, n_ctx: int = 8192, threads: int | None = None,
                 top_logprobs: int = 20, min_mass: float = 0.01, **robustness):
        parsed = parse_local_id(judge_id)
        model, mode = parsed if parsed else (None, "greedy")
        mode = rating or mode
        if model is None and model_path is None:
            raise ValueError(f"unknown local judge {judge_id!r}; use one of {', '.join(LOCAL_MODELS)}")
        model_path = Path(model_path) if model_path else model.path()
        self.protocol = protocol(mode)
        self.rating_mode, self.top_logprobs, self.min_mass = mode, int(top_logprobs), float(min_mass)
        alias = model.alias if model else model_path.stem
        judge_id = canonical_id(model, mode) if model else judge_id
        self.server = LocalServer(model_path, alias=alias, n_ctx=n_ctx, log_path=log_path, n_threads=threads,
                                  logits_all=(mode in PROBABILITY_MODES))
        digest = model_digest(model, model_path)
        # The port changes per run, so the base URL is left out of the cache key; the model file's digest is in.
        key = {"id": judge_id, "model_file": model_path.name, "model_sha256": digest, "temperature": 0.0,
               "rating_mode": mode}
        key.update({"max_tokens": max_tokens, "grammar": RATING_GRAMMAR} if mode == "greedy" else
                   {"prefix": RATING_PREFIX, "top_logprobs": self.top_logprobs, "prompt_format": "gguf chat template"})
        if mode not in ("greedy", "expected"):  # the older modes keep their keys: their caches stay valid
            key.update({"protocol": self.protocol.id, "prompt_id": self.protocol.prompt_id})
        if judge_id == "local-smollm2" and mode == "greedy":
            key.pop("rating_mode")  # the key this judge had before rating modes existed: its cache stays valid
        super().__init__(alias, "http://127.0.0.1:0/v1", judge_id=judge_id, api_key_env=None, temperature=0.0,
                         max_tokens=max_tokens, timeout_s=timeout_s, max_retries=max_retries, concurrency=concurrency,
                         grammar=RATING_GRAMMAR if mode == "greedy" else None, cache_path=cache_path,
                         key_in_cache=key, **robustness)
        self.settings.pop("base_url", None)
        self.settings.update({"server": "llama_cpp.server (llama-cpp-python) on 127.0.0.1", "model_file": model_path.name,
                              "model_sha256": digest, "n_ctx": n_ctx, "threads": self.server.n_threads,
                              "rating_mode": mode, "protocol": self.protocol.id, "prompt_id": self.protocol.prompt_id})
        if mode == "greedy":
            self.settings["output_constraint"] = "GBNF grammar: one-sentence explanation, then [[1..10]]"
        else:
            self.settings.pop("max_tokens", None)
            self.settings.update({"rating": self.protocol.reading,
                                  "prefix": PAIR_PREFIX if mode == "pairwise" else RATING_PREFIX, "top_logprobs": self.top_logprobs, "min_mass": self.min_mass,
                                  "prompt_format": "the model's chat template from the GGUF (transformers)"})
        self._tokenizer = None

    def ensure_started(self) -> str:
        """Start the server if needed; its base URL (…/v1)."""
        self.server.start()
        self.base_url = self.server.base_url
        return self.base_url

    def _attempt(self, endpoint: str, body: dict, read) -> str:
        try:
            return super()._attempt(endpoint, body, read)
        except _Retry:
            self.server.raise_if_dead()  # a crashed server: its exit status and log, not "Connection refused"
            raise

    def complete(self, bodies, progress=None):
        # Only start a server when some request is not already in the cache.
        if self.server.process is None and self.cache is not None:
            if all(self.cache.get(request_key(self._cache_key, {k: v for k, v in b.items() if k != "model"})) is not None
                   for b in bodies):
                return super().complete(bodies, progress)
        self.ensure_started()
        return super().complete(bodies, progress)

    # -- expected-rating mode -----------------------------------------------------------------------
    def tokenizer(self):
        if self._tokenizer is None:
            self._tokenizer = gguf_tokenizer(self.server.model_path)
        return self._tokenizer

    def chat_prompt(self, messages: list[dict]) -> str:
        """The judge prompt as the model sees it: chat template + generation prompt (the reply not yet begun)."""
        return self.tokenizer().apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def _stream_attempt(self, endpoint: str, body: dict, read) -> str:
        """One streamed completion: the JSON of the first token's top log-probabilities (raises _Retry/_Fatal)."""
        try:
            with self._http().stream("POST", f"{self.base_url}{endpoint}", json=body, headers=self._headers()) as response:
                if response.status_code >= 400:
                    text = response.read().decode(errors="replace")[:200]
                    error = f"HTTP {response.status_code}: {text}"
                    raise (_Retry if response.status_code in RETRY_STATUS else _Fatal)(error)
                for line in response.iter_lines():
                    if not line.startswith("data:") or line[5:].strip() == "[DONE]":
                        continue
                    logprobs = json.loads(line[5:])["choices"][0].get("logprobs") or {}
                    if logprobs.get("top_logprobs"):
                        return json.dumps(logprobs["top_logprobs"][0], sort_keys=True)
        except httpx.HTTPError as err:
            self.server.raise_if_dead()  # a crashed server: its exit status and log, not "Connection refused"
            raise _Retry(f"{type(err).__name__}: {err}") from None
        except (ValueError, KeyError, IndexError, TypeError) as err:
            raise _Retry(f"malformed stream ({type(err).__name__}: {err})") from None
        raise _Retry("the stream ended without log-probabilities")

    def next_token_logprobs(self, prompt: str, grammar: str = NEXT_DIGIT_GRAMMAR) -> tuple[dict | None, str | None]:
        """Top-k next-token log-probabilities after ``prompt`` (cached), or (None, error)."""
        body = {"prompt": prompt, "max_tokens": 1, "temperature": 0.0, "logprobs": self.top_logprobs, "stream": True,
                "grammar": grammar}

        def send():
            self.ensure_started()
            return self._post({"model": self.model, **body}, "/completions", attempt_fn=self._stream_attempt)

        payload = {"prompt": prompt, "top_logprobs": self.top_logprobs, "next_token": True}
        if grammar != NEXT_DIGIT_GRAMMAR:  # the digit grammar's requests keep their old cache keys
            payload["grammar"] = grammar
        text, error = self.cached_call(payload, send)
        return (json.loads(text), None) if text is not None else (None, error)

    def explanation(self, prompt: str) -> tuple[str | None, str | None]:
        """The judge's own greedy explanation after ``prompt`` (cached), stopped before it writes its rating."""
        body = {"prompt": prompt, "max_tokens": EXPLAIN_TOKENS, "temperature": 0.0, "stop": EXPLAIN_STOP}

        def send():
            self.ensure_started()
            return self._post({"model": self.model, **body}, "/completions", read=lambda d: d["choices"][0]["text"])

        return self.cached_call({"prompt": prompt, "explain_tokens": EXPLAIN_TOKENS, "stop": EXPLAIN_STOP}, send)

    def _rating_after(self, prompt: str, raw_prefix: str = "") -> Rating:
        """E[rating] from the distributions after ``prompt`` (which ends in "Rating: [[") and after it + "1"."""
        first, error = self.next_token_logprobs(prompt)
        after_one = None
        if first is not None and needs_second_look(first):
            after_one, error = self.next_token_logprobs(prompt + "1")
        if first is None or (after_one is None and error):
            return Rating(None, raw_prefix or None, f"request: {error}")
        dist = rating_distribution(first, after_one, self.min_mass)
        if dist.expected is None:
            self.stats.add(parse_failures=1)
            return Rating(None, raw_prefix + dist.summary(), f"parse: the judge put {dist.mass:.4f} < {self.min_mass} "
                                                             "of its next-token probability on a rating")
        return Rating(dist.expected, raw_prefix + dist.summary())

    def _first_prompt(self, request: RatingRequest) -> str | Rating:
        """The first prompt the judge is sent for ``request`` (the reply begun), or the Rating that says why none."""
        if self.rating_mode == "pairwise":
            return Rating(None, None, "request: the pairwise protocol compares two answers (prefer); it gives no "
                                      "single-answer rating")
        messages = request.messages
        if self.rating_mode in ("noexample", "explain"):
            try:
                messages = example_free(messages)
            except ValueError as err:
                return Rating(None, None, f"request: {err}")
        return self.chat_prompt(messages) + (EXPLAIN_PREFIX if self.rating_mode == "explain" else RATING_PREFIX)

    def _rate_prompt(self, prompt: str) -> Rating:
        if self.rating_mode != "explain":
            return self._rating_after(prompt)
        text, error = self.explanation(prompt)
        if text is None:
            return Rating(None, None, f"request: {error}")
        said = cut_explanation(text)
        return self._rating_after(prompt + said + "\n" + RATING_PREFIX, f"{EXPLAIN_PREFIX}{said}\n")

    def rate(self, requests: Sequence[RatingRequest], progress=None) -> list[Rating]:
        """One rating per request, in the caller's order, judged in the order of their prompts: llama.cpp keeps the
        previous prompt's evaluated tokens and evaluates only what follows the common prefix, and sorted neighbours
        share the longest one (the system prompt and judge instruction of one prompt kind, then one question's
        text). MT-Bench's caller order alternates turn 1 and turn 2, whose system prompts differ after 3 tokens."""
        if self.rating_mode == "greedy":
            return super().rate(requests, progress)
        out = [self._first_prompt(r) for r in requests]  # a prompt to send, or the Rating that refuses one
        to_send = sorted((i for i, p in enumerate(out) if isinstance(p, str)), key=out.__getitem__)
        if progress and len(to_send) < len(out):
            progress(len(out) - len(to_send))
        for i in to_send:
            out[i] = self._rate_prompt(out[i])
            if progress:
                progress(1)
        return out

    @property
    def supports_pairs(self) -> bool:
        return self.rating_mode == "pairwise"

    # -- pairwise protocol ----------------------------------------------------------------------------
    def _first_better(self, question: str, answer_a: str, answer_b: str, reference: str | None,
                      prompt: str | None = None) -> tuple[float | None, str]:
        """P(answer A is better), ties half, from the label distribution after "[["; and a short raw text."""
        _, messages = pair_messages(question, answer_a, answer_b, reference, prompt)
        top, error = self.next_token_logprobs(self.chat_prompt(messages) + PAIR_PREFIX, NEXT_LABEL_GRAMMAR)
        if top is None:
            return None, f"request: {error}"
        dist = pair_distribution(top, PAIR_LABELS)
        if dist.mass < self.min_mass:
            return None, f"parse: the judge put {dist.mass:.4f} < {self.min_mass} of its probability on A, B or C"
        return dist.first_better, " ".join(f"{k}:{v:.3f}" for k, v in dist.probabilities.items())

    def prefer(self, requests: Sequence[PairRequest], progress=None) -> list[Preference]:
        """alpaca_eval's preference (1 = output_1 better, 2 = output_2 better), continuous: 2 - P(output_1 better),
        P averaged over both orders. ``consistent``: whether both orders pick the same answer (ties: neither).

        Consecutive requests that share their second answer (judge-check's MT-Bench: every model against one
        baseline answer per question) are sent as a block, first in the given order and then swapped: the swapped
        prompts begin with that shared answer, and llama.cpp re-evaluates only what follows the common prefix of
        consecutive prompts. Same requests and cache keys as one pair at a time, fewer prompt tokens evaluated."""
        if self.rating_mode != "pairwise":
            raise NotImplementedError(f"judge {self.id!r} compares pairs only with the pairwise protocol "
                                      f"({self.id.split(':')[0]}:pairwise)")
        out = []
        for block in _blocks_sharing_second_answer(requests):
            forward = [self._first_better(r.instruction, r.output_1, r.output_2, r.reference, r.prompt) for r in block]
            for r, (p_forward, raw_f) in zip(block, forward):
                p_backward, raw_b = self._first_better(r.instruction, r.output_2, r.output_1, r.reference, r.prompt)
                out.append(self._preference(p_forward, raw_f, p_backward, raw_b))
                if progress:
                    progress(1)
        return out

    def _preference(self, forward: float | None, raw_f: str, backward: float | None, raw_b: str) -> Preference:
        if forward is None or backward is None:
            error = raw_f if forward is None else raw_b
            if error.startswith("parse:"):
                self.stats.add(parse_failures=1)
            return Preference(None, None, error)
        p_first = 0.5 * (forward + (1.0 - backward))
        consistent = (forward > 0.5) == (backward < 0.5) and forward != 0.5 and backward != 0.5
        return Preference(2.0 - p_first, f"P(output_1 better)={p_first:.3f}; order 1-2 {raw_f}; order 2-1 {raw_b}",
                          consistent=consistent)

    def close(self) -> None:
        super().close()
        self.server.stop()


def _blocks_sharing_second_answer(requests: Sequence[PairRequest]) -> list[list[PairRequest]]:
    """Runs of consecutive requests with the same question, second answer, reference and prompt variant."""
    blocks: list[list[PairRequest]] = []
    for r in requests:
        if blocks and _second_side(blocks[-1][-1]) == _second_side(r):
            blocks[-1].append(r)
        else:
            blocks.append([r])
    return blocks


def _second_side(r: PairRequest) -> tuple:
    return (r.instruction, r.output_2, r.reference, r.prompt)
