"""Teacher top-K store and the precomputes that fill it.

One store holds, for every example of one (model, dataset, side), one entry per response token:
the teacher's top-K token ids, their ``values`` and a ``tail``. What the values are depends on the store's
``kind`` (in its metadata): for "teacher_topk" the DPO teacher's probabilities, sorted highest first, with
tail = 1 - sum(top-K); for "advantages" the advantages log p_dpo - log p_baseline of the DPO teacher's top-K
tokens, sorted highest first (tail unused, 0). The examples name them for what they hold (methods.examples).
It is a single safetensors file of flat arrays plus offsets: compact, memory-mappable, no pickle.
Writes go to a temporary file that is renamed into place, so a reader never sees half a store.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from .base import accepts_logits_to_keep, response_columns
from .batching import pad_sequences
from .devices import to_model_device
from .lm_head import require_fp32_logits, use_fp32_lm_head
from .losses import response_mask, sequence_logps
from .precision import autocast

DEFAULT_K = 50
ADVANTAGE_FLOOR = 1e-7  # probabilities are clipped below at this before taking logs, as in the released code
# A Python float bound: a tensor bound made on the CPU fails against CUDA logits (see methods.losses.LOG_PROB_FLOOR).
LOG_ADVANTAGE_FLOOR = math.log(ADVANTAGE_FLOOR)
FLOOR_CHOICES = ("baseline_min", "dpo_min", "exact")


@dataclass
class TopKStore:
    """Per-example views into flat arrays; ``tokens`` are the response tokens the teacher was fed."""

    ids: torch.Tensor  # [total, K] int32
    values: torch.Tensor  # [total, K] float32: probabilities or advantages (metadata["kind"])
    tail: torch.Tensor  # [total] float32
    tokens: torch.Tensor  # [total] int32
    offsets: torch.Tensor  # [n + 1] int64
    metadata: dict

    def __len__(self) -> int:
        return self.offsets.numel() - 1

    @property
    def k(self) -> int:
        return self.ids.shape[1]

    def entry(self, i: int) -> dict:
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        return {"ids": self.ids[a:b], "values": self.values[a:b], "tail": self.tail[a:b], "tokens": self.tokens[a:b]}

    @classmethod
    def from_entries(cls, entries: Sequence[dict], metadata: dict | None = None) -> "TopKStore":
        # A store lives on the CPU (entries are moved there by _per_example); batches move to the model later.
        lengths = [int(e["ids"].shape[0]) for e in entries]
        offsets = torch.zeros(len(entries) + 1, dtype=torch.int64)
        offsets[1:] = torch.cumsum(torch.tensor(lengths, dtype=torch.int64), 0)
        cat = lambda key, dtype: torch.cat([torch.as_tensor(e[key]).to(dtype) for e in entries]) if entries else torch.zeros(0, dtype=dtype, device="cpu")
        ids = cat("ids", torch.int32)
        return cls(
            ids=ids.reshape(-1, ids.shape[-1]) if ids.numel() else torch.zeros((0, DEFAULT_K), dtype=torch.int32, device="cpu"),
            values=cat("values", torch.float32).reshape(ids.shape) if ids.numel() else torch.zeros((0, DEFAULT_K), device="cpu"),
            tail=cat("tail", torch.float32),
            tokens=cat("tokens", torch.int32),
            offsets=offsets,
            metadata=dict(metadata or {}),
        )

    def save(self, path: str | os.PathLike) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        tensors = {"ids": self.ids.contiguous(), "values": self.values.contiguous(), "tail": self.tail.contiguous(),
                   "tokens": self.tokens.contiguous(), "offsets": self.offsets.contiguous()}
        save_file(tensors, str(tmp), metadata={"meta": json.dumps(self.metadata, sort_keys=True)})
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "TopKStore":
        with safe_open(str(path), framework="pt") as f:
            meta = json.loads((f.metadata() or {}).get("meta", "{}"))
            t = {name: f.get_tensor(name) for name in ("ids", "values", "tail", "tokens", "offsets")}
        return cls(metadata=meta, **t)


def batches_by_length(examples: Sequence[dict], max_tokens: int) -> list[list[int]]:
    """Index batches of similar length (longest first) holding at most ``max_tokens`` padded tokens."""
    order = sorted(range(len(examples)), key=lambda i: -(len(examples[i]["prompt_ids"]) + len(examples[i]["response_ids"])))
    batches, current, width = [], [], 0
    for i in order:
        n = len(examples[i]["prompt_ids"]) + len(examples[i]["response_ids"])
        if current and max(width, n) * (len(current) + 1) > max_tokens:
            batches.append(current)
            current, width = [], 0
        current.append(i)
        width = max(width, n)
    if current:
        batches.append(current)
    return batches


@torch.no_grad()
def _response_logits(model, examples: Sequence[dict], pad_id: int, bf16_autocast: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Shifted fp32 logits and labels of a batch of {prompt_ids, response_ids}, on the model's device."""
    batch = pad_sequences([e["prompt_ids"] for e in examples], [e["response_ids"] for e in examples], pad_id)
    # Only the columns holding a response token are projected through the LM head (see shifted_forward).
    a, b = response_columns(batch["labels"][:, 1:])  # on the CPU, before the batch moves: no device sync
    batch = to_model_device(batch, model)
    labels = batch["labels"][:, 1:]
    use_fp32_lm_head(model)
    kwargs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
    with autocast(bf16_autocast, labels.device):
        if accepts_logits_to_keep(model):
            logits = model(**kwargs, logits_to_keep=torch.arange(a, b, device=labels.device)).logits
        else:
            logits = model(**kwargs).logits[:, a:b]
    return require_fp32_logits(logits), labels[:, a:b]


def _per_example(mask: torch.Tensor, *tensors: torch.Tensor):
    for row in range(mask.shape[0]):
        keep = mask[row]
        yield tuple(t[row][keep].cpu() for t in tensors)


def precompute_teacher_topk(
    model, examples: Sequence[dict], pad_id: int, k: int = DEFAULT_K, max_tokens: int = 4096,
    progress: Callable[[int], None] | None = None, metadata: dict | None = None,
) -> TopKStore:
    """Teacher-forced top-K distributions on every response token of ``examples``."""
    model.eval()
    entries: list[dict | None] = [None] * len(examples)
    for idx in batches_by_length(examples, max_tokens):
        logits, labels = _response_logits(model, [examples[i] for i in idx], pad_id)
        top_logits, top_ids = logits.topk(k, dim=-1)
        probs = (top_logits - torch.logsumexp(logits, -1, keepdim=True)).exp()
        tail = (1.0 - probs.sum(-1)).clamp(min=0.0)
        mask = response_mask(labels)
        for i, (ids, p, t, tok) in zip(idx, _per_example(mask, top_ids, probs, tail, labels)):
            entries[i] = {"ids": ids, "values": p, "tail": t, "tokens": tok}
        if progress:
            progress(int(mask.sum()))
    return TopKStore.from_entries(entries, {"kind": "teacher_topk", "k": k, **(metadata or {})})


def advantages_from_logits(dpo_logits: torch.Tensor, baseline_logits: torch.Tensor, k: int, floor: str = "baseline_min"):
    """A(a) = log p_dpo(a) - log p_baseline(a) over the DPO teacher's top-K tokens a, sorted by A descending.

    The baseline is the model the DPO teacher's advantage is measured against: the SFT teacher by default
    (method spec section 1), or the student's initial weights as in the released README.
    ``floor`` decides p_baseline for a token outside the baseline's own top-K:
    ``baseline_min`` floors it at the baseline's smallest top-K probability (this project's default),
    ``dpo_min`` at the DPO teacher's smallest top-K probability (the released code), and ``exact``
    uses the baseline's true probability. Probabilities are clipped below at 1e-7 in every case.
    """
    if floor not in FLOOR_CHOICES:
        raise ValueError(f"advantage floor must be one of {FLOOR_CHOICES}, got {floor!r}")
    dpo_logp = dpo_logits.float().log_softmax(-1)
    base_logp = baseline_logits.float().log_softmax(-1)
    top_dpo, ids = dpo_logp.topk(k, dim=-1)
    base_at_ids = base_logp.gather(-1, ids)
    if floor != "exact":
        base_top, base_ids = base_logp.topk(k, dim=-1)
        in_base_topk = (ids.unsqueeze(-1) == base_ids.unsqueeze(-2)).any(-1)
        floor_source = base_top if floor == "baseline_min" else top_dpo
        floor_logp = floor_source.min(-1, keepdim=True).values.exp().clamp(min=ADVANTAGE_FLOOR).log()
        base_at_ids = torch.where(in_base_topk, base_at_ids, floor_logp.expand_as(base_at_ids))
    adv = top_dpo.clamp(min=LOG_ADVANTAGE_FLOOR) - base_at_ids.clamp(min=LOG_ADVANTAGE_FLOOR)
    adv, order = adv.sort(-1, descending=True)
    return ids.gather(-1, order), adv


@torch.no_grad()
def precompute_advantages(
    dpo_model, baseline_model, examples: Sequence[dict], pad_id: int, k: int = DEFAULT_K, floor: str = "baseline_min",
    max_tokens: int = 4096, progress: Callable[[int], None] | None = None, metadata: dict | None = None,
) -> TopKStore:
    """Per-token advantages of the DPO teacher over the baseline model on ``examples``' responses."""
    dpo_model.eval()
    baseline_model.eval()
    entries: list[dict | None] = [None] * len(examples)
    for idx in batches_by_length(examples, max_tokens):
        batch = [examples[i] for i in idx]
        dpo_logits, labels = _response_logits(dpo_model, batch, pad_id)
        baseline_logits, _ = _response_logits(baseline_model, batch, pad_id)
        ids, adv = advantages_from_logits(dpo_logits, baseline_logits.to(dpo_logits.device), k, floor)
        mask = response_mask(labels)
        tail = torch.zeros(mask.shape, dtype=torch.float32, device=mask.device)
        for i, (ids_i, adv_i, t, tok) in zip(idx, _per_example(mask, ids, adv, tail, labels)):
            entries[i] = {"ids": ids_i, "values": adv_i, "tail": t, "tokens": tok}
        if progress:
            progress(int(mask.sum()))
    return TopKStore.from_entries(entries, {"kind": "advantages", "k": k, "floor": floor, **(metadata or {})})


@torch.no_grad()
def precompute_sequence_logps(
    model, examples: Sequence[dict], pad_id: int, max_tokens: int = 4096, progress: Callable[[int], None] | None = None,
    bf16_autocast: bool = False,
) -> list[float]:
    """Summed response log-probabilities for every example (e.g. DPO's frozen reference, or a reward margin).

    ``bf16_autocast``: score under the same bf16 autocast as training (``Precision.train_autocast``). DPO's
    reference log-probs come from the initial weights of the model being trained; computed with the training
    numerics, DPO's margin is exactly 0 at step 0, as it is in exact arithmetic.
    """
    model.eval()
    out: list[float] = [0.0] * len(examples)
    for idx in batches_by_length(examples, max_tokens):
        logits, labels = _response_logits(model, [examples[i] for i in idx], pad_id, bf16_autocast)
        for i, value in zip(idx, sequence_logps(logits, labels).tolist()):
            out[i] = value
        if progress:
            progress(int(response_mask(labels).sum()))
    return out
