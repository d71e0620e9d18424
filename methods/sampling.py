"""One set of generation settings for both generation paths (Hugging Face in methods.generate, vLLM in
methods.vllm_backend), and the per-item random streams they sample with.

Each path's arguments are built from the same ``GenerationSettings`` by a function here (``hf_generate_kwargs``,
``vllm_sampling_kwargs``), so that the maximum length, the stop id, temperature, top-p and the switched-off extras
(top-k, repetition penalty, min-p) are the same; tests/test_methods_generate_vllm.py builds both and compares them.

Sampling draws every item's tokens from its own stream, seeded by ``item_seed(run seed, item)``: an item's sample does
not depend on which other prompts share its batch, nor on the batch size, and two prompts never share a stream's start.
vLLM takes one seed per request; the Hugging Face path, which samples a whole batch from one generator, gets the same
property through ``PerItemSampler`` (Gumbel-max sampling with one torch.Generator per row).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Sequence

import torch


@dataclass(frozen=True)
class GenerationSettings:
    max_new_tokens: int
    eos_id: int  # the one id that stops an answer (kept in it); negative: none, the answer runs to max_new_tokens
    temperature: float  # <= 0: greedy
    top_p: float = 1.0

    def __post_init__(self):
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be at least 1, got {self.max_new_tokens}")
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0

    @property
    def stop_ids(self) -> list[int]:
        return [self.eos_id] if self.eos_id >= 0 else []


def item_seed(run_seed: int, item: int) -> int:
    """The seed of one item's stream: a hash of (run seed, item), so that seed s item i+1 and seed s+1 item i (MT-Bench
    seeds its second turn with seed + 1) do not collide as they would with seed + item. 31 bits: every backend takes it."""
    digest = hashlib.sha256(f"{int(run_seed)}:{int(item)}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def hf_generate_kwargs(settings: GenerationSettings) -> dict:
    """``model.generate`` arguments. Greedy decoding in both modes: sampling is PerItemSampler's Gumbel noise on top of
    the tempered, top-p-filtered logits, so HF's own samplers (one stream per batch) are never used. Extras the
    model's generation_config may carry (Qwen's repetition_penalty 1.1, top_k 20) are switched off, as for vLLM."""
    return {"max_new_tokens": settings.max_new_tokens, "eos_token_id": settings.eos_id, "do_sample": False,
            "top_k": None, "top_p": None, "temperature": None, "repetition_penalty": 1.0, "min_p": None}


def vllm_sampling_kwargs(settings: GenerationSettings, seed: int | None) -> dict:
    """``vllm.SamplingParams`` arguments for one request. Stops at ``eos_id`` only (vLLM's own EOS handling off, as HF's
    ``eos_token_id=eos_id``); special tokens kept, since ids are what is returned."""
    return {"n": 1, "max_tokens": settings.max_new_tokens, "temperature": 0.0 if settings.greedy else settings.temperature,
            "top_p": 1.0 if settings.greedy else settings.top_p, "top_k": -1, "min_p": 0.0, "repetition_penalty": 1.0,
            "seed": None if settings.greedy else seed, "stop_token_ids": settings.stop_ids, "ignore_eos": True,
            "skip_special_tokens": False}


def hf_view(kwargs: dict, sampler: "PerItemSampler | None") -> dict:
    """What an HF call does, in vLLM's terms (for comparing the two paths)."""
    eos = kwargs["eos_token_id"]
    return {"max_tokens": kwargs["max_new_tokens"], "stop_token_ids": [eos] if eos is not None and eos >= 0 else [],
            "temperature": sampler.temperature if sampler else 0.0, "top_p": sampler.top_p if sampler else 1.0,
            "top_k": -1 if kwargs["top_k"] is None else kwargs["top_k"], "repetition_penalty": kwargs["repetition_penalty"],
            "min_p": 0.0 if kwargs["min_p"] is None else kwargs["min_p"]}


class PerItemSampler:
    """A logits processor that turns greedy decoding into sampling from softmax(logits / T) cut to top-p, with one
    random stream per row: argmax(log p + G) with G ~ Gumbel is a draw from p (the Gumbel-max trick), and each row's
    G comes from its own generator, seeded with item_seed(run seed, that row's item)."""

    def __init__(self, seeds: Sequence[int], temperature: float, top_p: float):
        self.seeds, self.temperature, self.top_p = list(seeds), float(temperature), float(top_p)
        self._generators: list[torch.Generator] | None = None

    def _top_p(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        """HF's own top-p rule (what its sampling path applies after the temperature)."""
        if self.top_p >= 1.0:
            return scores
        from transformers import TopPLogitsWarper

        return TopPLogitsWarper(self.top_p)(input_ids, scores)

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        if self._generators is None:
            self._generators = [torch.Generator(device=scores.device).manual_seed(s) for s in self.seeds]
        logp = self._top_p(input_ids, scores.float() / self.temperature).log_softmax(-1)
        # -log(E) with E ~ Exp(1) is Gumbel(0, 1); one draw per row from that row's generator
        exp = torch.stack([torch.empty(scores.shape[-1], device=scores.device).exponential_(generator=g)
                           for g in self._generators])
        return logp - exp.log()
