"""Tokenised records + precomputed stores -> the training examples the collators take.

A preference example is ``{"prompt_ids", "chosen_ids", "rejected_ids"}``; an ADPA example pairs the chosen
answer with the student's own sample instead: ``{"prompt_ids", "chosen_ids", "sample_ids"}``. The pipeline adds
DPO's reference log-probs (``ref_chosen_logps`` / ``ref_rejected_logps``), the DPO teacher's per-token top-K
distributions for DCKD (``chosen_teacher_topk`` / ``rejected_teacher_topk``: ids, probs, tail) and the per-token
advantages on the samples for ADPA (``sample_advantages``: ids, advantages). A store entry was computed by teacher
forcing on exactly the response tokens of its example; attaching it to different tokens would silently misalign
every position, so each attachment checks the store's ``tokens`` (and its kind, when the store records one).
"""
from __future__ import annotations

from typing import Sequence

import torch

from .errors import MethodInputError


class AlignmentError(MethodInputError):
    """A store does not match the examples it is attached to."""


def response_view(examples: Sequence[dict], side: str) -> list[dict]:
    """``{"prompt_ids", "response_ids"}`` for one response ("chosen", "rejected" or "sample") of pair examples."""
    return [{"prompt_ids": e["prompt_ids"], "response_ids": e[f"{side}_ids"]} for e in examples]


def attach_ref_logps(examples: Sequence[dict], chosen: Sequence[float], rejected: Sequence[float]) -> list[dict]:
    """DPO's frozen-reference log-probs of each pair's chosen and rejected answers."""
    if not len(examples) == len(chosen) == len(rejected):
        raise AlignmentError(f"reference log-probs for {len(chosen)}/{len(rejected)} examples, but there are {len(examples)} examples")
    return [{**e, "ref_chosen_logps": float(c), "ref_rejected_logps": float(r)} for e, c, r in zip(examples, chosen, rejected)]


def _checked_entries(examples: Sequence[dict], store, side: str, kind: str, store_name: str):
    found = store.metadata.get("kind")
    if found is not None and found != kind:
        raise AlignmentError(f"{store_name} is a {found!r} store; expected {kind!r}")
    if len(store) != len(examples):
        raise AlignmentError(f"{store_name} holds {len(store)} entries but there are {len(examples)} examples")
    for i, example in enumerate(examples):
        entry = store.entry(i)
        response = torch.as_tensor(example[f"{side}_ids"], dtype=torch.long)
        tokens = entry["tokens"].long()
        if not torch.equal(tokens, response):
            raise AlignmentError(
                f"{store_name}: entry {i} was computed on {tokens.shape[0]} tokens that do not match the example's "
                f"{side} response ({response.shape[0]} tokens): the store belongs to other data or another tokenisation"
            )
        yield example, entry


def attach_teacher_topk(examples: Sequence[dict], store, side: str, store_name: str = "teacher top-K store") -> list[dict]:
    """Entry i of a teacher top-K store (ids, probs, tail) as ``{side}_teacher_topk`` of example i."""
    return [{**example, f"{side}_teacher_topk": {"ids": e["ids"], "probs": e["values"], "tail": e["tail"], "tokens": e["tokens"]}}
            for example, e in _checked_entries(examples, store, side, "teacher_topk", store_name)]


def attach_advantages(examples: Sequence[dict], store, store_name: str = "advantage store") -> list[dict]:
    """Entry i of an advantage store (ids, advantages) as ``sample_advantages`` of ADPA example i."""
    return [{**example, "sample_advantages": {"ids": e["ids"], "advantages": e["values"], "tokens": e["tokens"]}}
            for example, e in _checked_entries(examples, store, "sample", "advantages", store_name)]


def with_samples(examples: Sequence[dict], samples: Sequence[Sequence[int]], per_prompt: int = 1) -> list[dict]:
    """ADPA's pairs: the dataset's chosen answer and the student's own sample (the rejected answer is not used).

    With ``per_prompt`` = n > 1, sample row i * n + j is sample j of prompt i and each example becomes n pairs. The
    chosen answer's teacher top-K, when attached, stays with it (GKD and DistiLLM-2 read both sides)."""
    if len(samples) != per_prompt * len(examples):
        raise AlignmentError(f"{len(samples)} student samples for {len(examples)} prompts ({per_prompt} per prompt)")
    out = []
    for i, e in enumerate(examples):
        kept = {"chosen_teacher_topk": e["chosen_teacher_topk"]} if "chosen_teacher_topk" in e else {}
        for s in samples[i * per_prompt:(i + 1) * per_prompt]:
            out.append({"prompt_ids": e["prompt_ids"], "chosen_ids": e["chosen_ids"], "sample_ids": list(s), **kept})
    return out
