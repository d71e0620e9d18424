"""Typed settings of the methods beyond the paper, and the sampling schedule of their student samples.

A method's settings live in its stage's ``loss.settings`` (methods.base.LossConfig.settings); the planner fills in
every default before it hashes a stage, so a changed default redoes the stages it affects.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields


class MethodSettings:
    """Mixin for a frozen dataclass of a method's settings: checked construction from a dict."""

    def check(self) -> None:  # overridden: range checks, raising ValueError naming the field
        pass

    @classmethod
    def from_dict(cls, values: dict):
        known = {f.name: f for f in fields(cls)}
        unknown = set(values) - set(known)
        if unknown:
            raise ValueError(f"unknown {cls.__name__} fields {sorted(unknown)}; known: {sorted(known)}")
        for name, value in values.items():
            expected = known[name].type
            if expected in ("float", float) and (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)):
                raise ValueError(f"{name}: expected a finite number, got {value!r}")
            if expected in ("int", int) and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValueError(f"{name}: expected a whole number, got {value!r}")
        out = cls(**{k: (float(v) if known[k].type in ("float", float) else v) for k, v in values.items()})
        out.check()
        return out

    def to_dict(self) -> dict:
        return asdict(self)


def in_range(name: str, value: float, low: float, high: float, low_open: bool = False, high_open: bool = False) -> None:
    if value < low or value > high or (low_open and value == low) or (high_open and value == high):
        lo, hi = "(" if low_open else "[", ")" if high_open else "]"
        raise ValueError(f"{name} must be in {lo}{low}, {high}{hi}, got {value}")


@dataclass(frozen=True)
class SamplingSchedule:
    """How student samples are drawn: once, from the method's initial student, before training (cached as a stage).

    ``samples_per_prompt`` samples of every training prompt at ``temperature`` / ``top_p`` (each sample its own seed);
    training then sees every (prompt, sample) pair once per epoch. The schedule is part of the samples stage's
    config, hence of its cache key and of everything downstream.
    """

    temperature: float
    top_p: float
    samples_per_prompt: int

    def __post_init__(self):
        in_range("sample temperature", self.temperature, 0.0, 10.0, low_open=True)
        in_range("sample top_p", self.top_p, 0.0, 1.0, low_open=True)
        if self.samples_per_prompt < 1:
            raise ValueError(f"samples_per_prompt must be at least 1, got {self.samples_per_prompt}")

    @property
    def tag(self) -> str:
        """Short stage-name suffix, e.g. ``t0.9p1n1``."""
        return f"t{self.temperature:g}p{self.top_p:g}n{self.samples_per_prompt}"

    def to_dict(self) -> dict:
        return asdict(self)
