"""The recipe's ``training`` section (defaults of every training stage) and each stage's overrides under
``stages``: optimiser, schedule and the method's loss settings (checked by methods.base.LossConfig)."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from methods.base import LossConfig

from .fields import RecipeError, Section

SCHEDULERS = ("linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup",
              "inverse_sqrt", "cosine_with_min_lr", "warmup_stable_decay")
MAX_LEARNING_RATE = 1.0  # Adam-family steps above this only diverge; the paper's rates are 5e-7 to 2e-5

TRAINING_FIELDS = ("learning_rate", "epochs", "batch_size", "grad_accum", "warmup_ratio", "scheduler", "max_steps",
                   "loss", "checkpoints", "allow_nonfinite")


@dataclass(frozen=True)
class TrainingConfig:
    learning_rate: float | None = None
    epochs: float = 1.0  # 0: the stage saves its starting model as it is (no training)
    batch_size: int = 1  # per device
    grad_accum: int = 1
    warmup_ratio: float = 0.1
    scheduler: str = "cosine"
    max_steps: int = -1  # > 0 overrides epochs
    checkpoints: int = 0  # weights saved at step 0 and N evenly spaced steps, for training curves
    allow_nonfinite: bool = False  # a non-finite loss or gradient stops the stage unless this is true
    loss: dict = field(default_factory=dict)  # methods.base.LossConfig fields

    @classmethod
    def read(cls, s: Section, defaults: "TrainingConfig | None" = None) -> "TrainingConfig":
        d = defaults or cls()
        out = cls(s.number("learning_rate", d.learning_rate, low=0.0, low_open=True, high=MAX_LEARNING_RATE, nullable=True),
                  s.number("epochs", d.epochs, low=0.0), s.integer("batch_size", d.batch_size, minimum=1),
                  s.integer("grad_accum", d.grad_accum, minimum=1), s.number("warmup_ratio", d.warmup_ratio, low=0.0, high=1.0),
                  s.string("scheduler", d.scheduler, choices=SCHEDULERS), s.integer("max_steps", d.max_steps, minimum=-1),
                  s.integer("checkpoints", d.checkpoints, minimum=0), s.boolean("allow_nonfinite", d.allow_nonfinite),
                  {**d.loss, **s.mapping("loss")})
        _check_loss(out.loss, s.where("loss"))
        return out

    def to_dict(self) -> dict:
        return asdict(self)


def _check_loss(loss: dict, where: str) -> None:
    for key, value in loss.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise RecipeError(f"{where}.{key}: expected a finite number, got {value!r}")
    try:
        LossConfig.from_dict(loss)
    except (ValueError, TypeError) as err:
        raise RecipeError(f"{where}: {err}") from None
