"""One precision policy for training and scoring, named in the recipe and validated when it is built.

- Trainable models always hold fp32 weights ("master" weights): AdamW must never update bf16 weights directly
  (at the paper's learning rate 5e-7 almost every update is below half a bf16 ulp and is lost). With
  ``train="fp32-master+bf16-autocast"`` the forward and backward run under bf16 autocast over those fp32 weights.
- Frozen models (teachers, the advantage's baseline) are loaded in bf16 (``frozen="bf16"``) or fp32.
- Every loss and log-prob is computed from fp32 logits (``loss="fp32"``): see ``methods.lm_head``.

bf16 is used only where the device supports it: a CUDA GPU with bf16 units, i.e. compute capability 8.0 or more
(Ampere and later). ``torch.cuda.is_bf16_supported()`` is also True on V100 / T4, which only emulate bf16 (slowly),
so it is not what decides. On an older GPU the policy falls back to fp32 everywhere and says so once in the run's log
(fp32 rather than fp16 autocast: fp16's range needs a loss scaler and overflows on 7B activations; fp32 is slower but
exact to the policy's intent). On a CPU it is fp32 everywhere unless ``cpu_bf16`` is set, which rehearses the GPU
numerics on CPU (slowly) for tests.
"""
from __future__ import annotations

import contextlib
import logging
from dataclasses import asdict, dataclass, fields

import torch

log = logging.getLogger(__name__)  # reaches the run log through the root logger's handlers

TRAIN_AUTOCAST = "fp32-master+bf16-autocast"
BF16_MIN_CAPABILITY = (8, 0)  # native bf16 tensor cores: Ampere (A100, A10, RTX 30xx) and later
_fallback_said: set[str] = set()
CHOICES = {"train": (TRAIN_AUTOCAST, "fp32"), "frozen": ("bf16", "fp32"), "loss": ("fp32",)}


class PrecisionError(ValueError):
    """A precision setting is unknown or has a value outside its choices; the message names the field."""


@dataclass(frozen=True)
class Precision:
    train: str = TRAIN_AUTOCAST
    frozen: str = "bf16"
    loss: str = "fp32"
    cpu_bf16: bool = False  # apply the bf16 parts on a CPU too (rehearses the GPU policy; slow)

    def __post_init__(self):
        for name, choices in CHOICES.items():
            value = getattr(self, name)
            if value not in choices:
                raise PrecisionError(f"precision.{name}: {value!r} is not one of {', '.join(choices)}")
        if not isinstance(self.cpu_bf16, bool):
            raise PrecisionError(f"precision.cpu_bf16: expected true or false, got {self.cpu_bf16!r}")

    @classmethod
    def from_dict(cls, values: dict | None) -> "Precision":
        values = dict(values or {})
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise PrecisionError(f"precision.{unknown[0]}: unknown setting; known: {', '.join(known)}")
        return cls(**values)

    def to_dict(self) -> dict:
        return asdict(self)

    def bf16_on(self, device) -> bool:
        """Whether this policy uses bf16 on ``device`` at all."""
        device = torch.device(device)
        if device.type == "cuda":
            return cuda_bf16_native(device)
        return device.type == "cpu" and self.cpu_bf16

    def trainable_dtype(self) -> torch.dtype:
        """Always fp32: the optimiser updates these weights (bf16 enters through autocast only)."""
        return torch.float32

    def frozen_dtype(self, device) -> torch.dtype:
        """The dtype to load a model that is only scored with (a teacher, the advantage's baseline)."""
        return torch.bfloat16 if self.frozen == "bf16" and self.bf16_on(device) else torch.float32

    def train_autocast(self, device) -> bool:
        """Whether training runs under bf16 autocast (the Trainer's ``bf16=True``) on ``device``."""
        return self.train == TRAIN_AUTOCAST and self.bf16_on(device)


def cuda_bf16_native(device="cuda") -> bool:
    """Whether the CUDA ``device`` has native bf16 units (compute capability >= 8.0). On a GPU without them, says once
    in the log that the policy runs in fp32 there."""
    if not torch.cuda.is_available():
        return False
    device = torch.device(device)
    capability = tuple(torch.cuda.get_device_capability(device))
    if capability >= BF16_MIN_CAPABILITY:
        return True
    name = torch.cuda.get_device_name(device)
    if name not in _fallback_said:
        _fallback_said.add(name)
        log.warning("precision: %s has compute capability %d.%d (< 8.0: bf16 only emulated, slow); training and frozen "
                    "models run in fp32 there instead of bf16", name, *capability[:2])
    return False


def autocast(enabled: bool, device) -> contextlib.AbstractContextManager:
    """bf16 autocast on ``device`` when ``enabled``, as the Trainer applies it under ``bf16=True``."""
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16)
