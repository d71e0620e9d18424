"""Tokenised examples -> padded model batches.

Sequences are prompt + response, right-padded; labels carry -100 on prompt and padding. A
preference batch stacks the B first responses (the chosen answers) on top of the B second ones (the
rejected answers, or for ADPA the student's own samples) so one forward pass serves both.

Per-token entries ([n_response, K] per example, from a top-K store) are placed at their response
positions in [rows, L, K] tensors aligned with ``labels``, under batch keys named for what they hold:
- ``teacher_ids`` / ``teacher_probs`` / ``teacher_tail``: the DPO teacher's top-K distribution (DCKD), from the
  examples' ``chosen_teacher_topk`` and ``rejected_teacher_topk`` entries;
- ``advantage_ids`` / ``advantages``: the DPO teacher's top-K advantages on the student's samples (ADPA), from
  the examples' ``sample_advantages`` entries (the chosen rows hold zeros and are never read).
"""
from __future__ import annotations

from typing import Sequence

import torch

from .losses import IGNORE_INDEX

# Batch keys that hold one value (or K values) per sequence position, shifted like the labels.
PER_TOKEN_KEYS = ("teacher_ids", "teacher_probs", "teacher_tail", "advantage_ids", "advantages")
# (a, b): the shifted label columns holding any response token, measured by the collator on the CPU (base.shifted_forward)
RESPONSE_SPAN = "response_span"
# entry field -> batch key, for each kind of per-token entry
TEACHER_TOPK_KEYS = {"ids": "teacher_ids", "probs": "teacher_probs", "tail": "teacher_tail"}
ADVANTAGE_KEYS = {"ids": "advantage_ids", "advantages": "advantages"}


def _as_tensor(x, dtype=None) -> torch.Tensor:
    return x if isinstance(x, torch.Tensor) else torch.as_tensor(x, dtype=dtype)


def response_columns(labels: torch.Tensor) -> tuple[int, int]:
    """The span [a, b) of (shifted) label columns that holds any response token in the batch."""
    cols = (labels != IGNORE_INDEX).any(0).nonzero()
    if cols.numel() == 0:
        return 0, labels.shape[1]
    return int(cols[0]), int(cols[-1]) + 1


def pad_sequences(prompts: Sequence[Sequence[int]], responses: Sequence[Sequence[int]], pad_id: int) -> dict:
    lengths = [len(p) + len(r) for p, r in zip(prompts, responses)]
    width = max(lengths)
    n = len(prompts)
    input_ids = torch.full((n, width), pad_id, dtype=torch.long)
    labels = torch.full((n, width), IGNORE_INDEX, dtype=torch.long)
    attention_mask = torch.zeros((n, width), dtype=torch.long)
    for row, (p, r) in enumerate(zip(prompts, responses)):
        seq = torch.as_tensor(list(p) + list(r), dtype=torch.long)
        input_ids[row, : len(seq)] = seq
        labels[row, len(p) : len(seq)] = seq[len(p) :]
        attention_mask[row, : len(seq)] = 1
    return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}


def place_per_token(rows: Sequence[dict | None], prompt_lengths: Sequence[int], width: int, keys: dict[str, str]) -> dict:
    """Scatter per-response-token entries into tensors aligned with labels: entry field f -> batch key keys[f].

    ``ids`` become [rows, width, K] int64; any other field [rows, width, K] or [rows, width] float32.
    """
    present = next(r for r in rows if r is not None)
    out = {}
    for field, key in keys.items():
        shape = tuple(_as_tensor(present[field]).shape[1:])
        dtype = torch.long if field == "ids" else torch.float32
        out[key] = torch.zeros((len(rows), width, *shape), dtype=dtype)
    for i, (entry, start) in enumerate(zip(rows, prompt_lengths)):
        if entry is None:
            continue
        n = min(_as_tensor(entry["ids"]).shape[0], width - start)
        for field, key in keys.items():
            out[key][i, start : start + n] = _as_tensor(entry[field])[:n].to(out[key].dtype)
    return out


class SFTCollator:
    def __init__(self, pad_id: int):
        self.pad_id = pad_id

    def __call__(self, examples: list[dict]) -> dict:
        batch = pad_sequences([e["prompt_ids"] for e in examples], [e["response_ids"] for e in examples], self.pad_id)
        batch[RESPONSE_SPAN] = response_columns(batch["labels"][:, 1:])
        return batch


class PairCollator:
    """Pair batches [first; second]; passes through DPO reference log-probs and per-token entries when present.

    ``second`` names the other response: "rejected" (DPO, DCKD) or "sample" (ADPA: the student's own sample).
    """

    def __init__(self, pad_id: int, second: str = "rejected"):
        self.pad_id = pad_id
        self.second = second

    def __call__(self, examples: list[dict]) -> dict:
        prompts = [e["prompt_ids"] for e in examples] * 2
        responses = [e["chosen_ids"] for e in examples] + [e[f"{self.second}_ids"] for e in examples]
        batch = pad_sequences(prompts, responses, self.pad_id)
        width, starts = batch["input_ids"].shape[1], [len(p) for p in prompts]
        for key in ("ref_chosen_logps", "ref_rejected_logps"):
            if key in examples[0]:
                batch[key] = torch.tensor([float(e[key]) for e in examples], dtype=torch.float64)  # as precomputed
        teacher = [e.get("chosen_teacher_topk") for e in examples] + [e.get(f"{self.second}_teacher_topk") for e in examples]
        if any(entry is not None for entry in teacher):
            batch.update(place_per_token(teacher, starts, width, TEACHER_TOPK_KEYS))
        advantages = [None] * len(examples) + [e.get("sample_advantages") for e in examples]
        if any(entry is not None for entry in advantages):
            batch.update(place_per_token(advantages, starts, width, ADVANTAGE_KEYS))
        batch[RESPONSE_SPAN] = response_columns(batch["labels"][:, 1:])
        return batch
