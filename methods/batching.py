"""Tokenised examples -> padded model batches.

Sequences are prompt + response, right-padded; labels carry -100 on prompt and padding. A
preference batch stacks the B chosen sequences on top of the B rejected ones so one forward pass
serves both. Per-token teacher tensors ([n_response, K] per example) are placed at their response
positions in [rows, L, K] tensors aligned with ``labels``.
"""
from __future__ import annotations

from typing import Sequence

import torch

from .losses import IGNORE_INDEX

TOPK_FIELDS = ("topk_ids", "topk_values", "topk_tail")


def _as_tensor(x, dtype=None) -> torch.Tensor:
    return x if isinstance(x, torch.Tensor) else torch.as_tensor(x, dtype=dtype)


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


def place_topk(rows: Sequence[dict | None], prompt_lengths: Sequence[int], width: int) -> dict:
    """Scatter per-response-token teacher entries into [rows, width, K] tensors aligned with labels."""
    present = [r for r in rows if r is not None]
    k = _as_tensor(present[0]["topk_ids"]).shape[-1]
    out = {
        "topk_ids": torch.zeros((len(rows), width, k), dtype=torch.long),
        "topk_values": torch.zeros((len(rows), width, k), dtype=torch.float32),
        "topk_tail": torch.zeros((len(rows), width), dtype=torch.float32),
    }
    for i, (entry, start) in enumerate(zip(rows, prompt_lengths)):
        if entry is None:
            continue
        ids = _as_tensor(entry["topk_ids"])
        n = min(ids.shape[0], width - start)
        out["topk_ids"][i, start : start + n] = ids[:n].long()
        out["topk_values"][i, start : start + n] = _as_tensor(entry["topk_values"])[:n].float()
        if "topk_tail" in entry and entry["topk_tail"] is not None:
            out["topk_tail"][i, start : start + n] = _as_tensor(entry["topk_tail"])[:n].float()
    return out


class SFTCollator:
    def __init__(self, pad_id: int):
        self.pad_id = pad_id

    def __call__(self, examples: list[dict]) -> dict:
        return pad_sequences([e["prompt_ids"] for e in examples], [e["response_ids"] for e in examples], self.pad_id)


class PairCollator:
    """Preference batches; passes through reference log-probs and teacher top-K entries when present."""

    def __init__(self, pad_id: int):
        self.pad_id = pad_id

    def __call__(self, examples: list[dict]) -> dict:
        prompts = [e["prompt_ids"] for e in examples] * 2
        responses = [e["chosen_ids"] for e in examples] + [e["rejected_ids"] for e in examples]
        batch = pad_sequences(prompts, responses, self.pad_id)
        for key in ("ref_chosen_logps", "ref_rejected_logps"):
            if key in examples[0]:
                batch[key] = torch.tensor([float(e[key]) for e in examples], dtype=torch.float32)
        entries = [e.get("chosen_teacher") for e in examples] + [e.get("rejected_teacher") for e in examples]
        if any(entry is not None for entry in entries):
            batch.update(place_topk(entries, [len(p) for p in prompts], batch["input_ids"].shape[1]))
        return batch
