"""Tokenised records + precomputed stores -> the training examples the collators take.

A preference example is ``{"prompt_ids", "chosen_ids", "rejected_ids"}``; the pipeline adds
reference log-probs (``ref_chosen_logps`` / ``ref_rejected_logps``) for DPO and per-token teacher
entries (``chosen_teacher`` / ``rejected_teacher``) for DCKD and ADPA. A teacher entry was computed
by teacher forcing on exactly the response tokens of its example; attaching it to different tokens
would silently misalign every position, so each attachment checks the store's ``tokens``.
"""
from __future__ import annotations

from typing import Sequence

import torch


class AlignmentError(ValueError):
    """A store does not match the examples it is attached to."""


def response_view(examples: Sequence[dict], side: str) -> list[dict]:
    """``{"prompt_ids", "response_ids"}`` for one side ("chosen" / "rejected") of preference examples."""
    return [{"prompt_ids": e["prompt_ids"], "response_ids": e[f"{side}_ids"]} for e in examples]


def attach_ref_logps(examples: Sequence[dict], chosen: Sequence[float], rejected: Sequence[float]) -> list[dict]:
    if not len(examples) == len(chosen) == len(rejected):
        raise AlignmentError(f"reference log-probs for {len(chosen)}/{len(rejected)} examples, but there are {len(examples)} examples")
    return [{**e, "ref_chosen_logps": float(c), "ref_rejected_logps": float(r)} for e, c, r in zip(examples, chosen, rejected)]


def attach_store(examples: Sequence[dict], store, side: str, store_name: str = "store") -> list[dict]:
    """Put entry i of ``store`` under ``{side}_teacher`` of example i, checking that its tokens match."""
    if len(store) != len(examples):
        raise AlignmentError(f"{store_name} holds {len(store)} entries but there are {len(examples)} examples")
    out = []
    for i, example in enumerate(examples):
        entry = store.entry(i)
        response = torch.as_tensor(example[f"{side}_ids"], dtype=torch.long)
        tokens = entry["tokens"].long()
        if not torch.equal(tokens, response):
            raise AlignmentError(
                f"{store_name}: entry {i} was computed on {tokens.shape[0]} tokens that do not match the example's "
                f"{side} response ({response.shape[0]} tokens): the store belongs to other data or another tokenisation"
            )
        out.append({**example, f"{side}_teacher": entry})
    return out


def with_samples(examples: Sequence[dict], samples: Sequence[Sequence[int]]) -> list[dict]:
    """ADPA's pairs: the dataset's chosen answer, and the student's own sample in the "rejected" slot."""
    if len(samples) != len(examples):
        raise AlignmentError(f"{len(samples)} student samples for {len(examples)} prompts")
    return [{"prompt_ids": e["prompt_ids"], "chosen_ids": e["chosen_ids"], "rejected_ids": list(s)} for e, s in zip(examples, samples)]
