"""The LM head's numerics: fp32 logits for every loss and log-prob, and a faster product for CPU decoding.

Under bf16 autocast, or for a model stored in bf16, a plain ``nn.Linear`` head emits bf16 logits: a sequence
log-prob or a DCKD tail bin computed from them is off by far more than the effects being measured. The fix
lives inside the model's own forward (the head module's class is swapped), so the forward hooks DDP and
DeepSpeed ZeRO-3 register on the module still run, parameter names and tied weights stay as they were, and
every path that calls the model (training, precompute, scoring) gets fp32 logits without knowing about it.
"""
from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F

from .devices import model_device

VOCAB_CHUNK = 16384  # rows of a low-precision head up-cast at a time (a full fp32 copy of 128k x 4096 is 2 GiB)


class Fp32Linear(torch.nn.Linear):
    """A linear layer that computes in at least fp32, whatever its weight dtype and any autocast around it."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = torch.promote_types(self.weight.dtype, torch.float32)  # fp64 test models stay fp64
        bias = self.bias
        with torch.autocast(device_type=x.device.type, enabled=False):
            x = x.to(dtype)
            if self.weight.dtype == dtype:
                return F.linear(x, self.weight, None if bias is None else bias.to(dtype))
            out = x.new_empty(*x.shape[:-1], self.out_features)
            for start in range(0, self.out_features, VOCAB_CHUNK):
                rows = slice(start, start + VOCAB_CHUNK)
                out[..., rows] = F.linear(x, self.weight[rows].to(dtype), None if bias is None else bias[rows].to(dtype))
            return out


def unwrap(model):
    """The model inside DDP / DeepSpeed wrappers (both keep it as ``.module``)."""
    while isinstance(getattr(model, "module", None), torch.nn.Module):
        model = model.module
    return model


def use_fp32_lm_head(model) -> bool:
    """Make ``model``'s LM head compute fp32 logits (idempotent); False when it has no ``nn.Linear`` head."""
    base = unwrap(model)
    head = base.get_output_embeddings() if hasattr(base, "get_output_embeddings") else None
    if isinstance(head, Fp32Linear):
        return True
    if type(head) is torch.nn.Linear:
        head.__class__ = Fp32Linear
        return True
    return False


def require_fp32_logits(logits: torch.Tensor) -> torch.Tensor:
    """``logits`` unchanged if fp32 (or fp64); a clear error for bf16/fp16 logits, which no loss may use."""
    if logits.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"the model's LM head emitted {logits.dtype} logits; losses and log-probs need fp32 logits "
                        "(use_fp32_lm_head handles a model whose get_output_embeddings() is an nn.Linear)")
    return logits


class WeightMajorLinear(torch.nn.Module):
    """A ``nn.Linear`` computed as (W @ x^T)^T: the same product, but on CPU MKL runs ``x @ W^T`` several times
    slower when x has few rows, as in a decode step (one row per sequence). Measured on this project's 2-core machine
    for SmolLM2's 49152 x 576 LM head with 8 rows: 50.8 ms as ``F.linear`` against 13.7 ms this way."""

    def __init__(self, linear: torch.nn.Linear):
        super().__init__()
        self.linear = linear

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, x.shape[-1]).to(self.linear.weight.dtype)
        out = torch.mm(self.linear.weight, flat.t()).t()
        if self.linear.bias is not None:
            out = out + self.linear.bias
        return out.reshape(*x.shape[:-1], out.shape[-1])


@contextlib.contextmanager
def generation_lm_head(model):
    """The head used while generating: on CPU a WeightMajorLinear (faster decode steps); elsewhere the model's
    native head, since sampling needs no fp32 logits and an fp32 head over bf16 weights would up-cast the whole
    weight at every decoded token. The model's own head is back in place afterwards, also after an error."""
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if not isinstance(head, torch.nn.Linear) or not hasattr(model, "set_output_embeddings"):
        yield model
    elif model_device(model).type == "cpu":
        model.set_output_embeddings(WeightMajorLinear(head))
        try:
            yield model
        finally:
            model.set_output_embeddings(head)
    elif isinstance(head, Fp32Linear):
        head.__class__ = torch.nn.Linear
        try:
            yield model
        finally:
            head.__class__ = Fp32Linear
    else:
        yield model
