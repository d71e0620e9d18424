"""The results schema: what every evaluator returns and every view reads.

One metric of one model is a ``MetricResult``: its value, ``n`` (items it is the mean of), a 95% interval with the
method that produced it, and (where the benchmark scores items one by one) the per-item scores that intervals and
paired comparisons between models are computed from. Per-item outputs worth showing (prompt, answer, rating, the
judge's rationale) are ``Sample`` rows. A benchmark run returns both together as a ``BenchmarkResult``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from bench.intervals import BINARY, CONTINUOUS, SCORE_KINDS, Interval  # noqa: F401 - part of the schema


@dataclass
class MetricResult:
    benchmark: str  # e.g. "mt_bench"
    metric: str  # e.g. "turn1", "win_rate", "arc_challenge", "average"
    value: float | None  # None: not measured, and missing_reason says why (never a 0)
    n_items: int = 0
    n_failures: int = 0  # judge failures / unparseable ratings: counted, never averaged in
    stderr: float | None = None
    missing_reason: str | None = None
    # benchmark + data version, judge id and settings, generation settings, chat template, seed ...
    details: dict[str, Any] = field(default_factory=dict)
    interval: Interval | None = None
    # item id -> score, where ``value`` is their mean: what intervals and paired comparisons are computed from.
    # Ids are stable across models (a question id, a prompt id, "task/doc"), so two models' items join on them.
    item_scores: dict[str, float] | None = None
    score_kind: str | None = None  # BINARY or CONTINUOUS, for item_scores
    higher_is_better: bool = True

    @property
    def key(self) -> tuple[str, str]:
        return (self.benchmark, self.metric)

    @property
    def n(self) -> int:
        return self.n_items

    def to_dict(self) -> dict:
        """Plain data for strict JSON (non-finite floats become None)."""
        out = {"benchmark": self.benchmark, "metric": self.metric, "value": self.value, "n_items": self.n_items,
               "n_failures": self.n_failures, "stderr": self.stderr, "missing_reason": self.missing_reason,
               "interval": self.interval.to_dict() if self.interval else None, "details": self.details}
        if not self.higher_is_better:
            out["higher_is_better"] = False
        if self.item_scores is not None:
            out["items"] = {"kind": self.score_kind, "ids": list(self.item_scores),
                            "scores": list(self.item_scores.values())}
        return finite_or_none(out)


@dataclass
class Sample:
    """One evaluated item's output, for the report's sample browser."""

    benchmark: str
    item_id: str  # the same id the metric's item_scores use
    prompt: str
    output: str
    rating: float | None = None
    rationale: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class BenchmarkResult:
    """What ``Benchmark.run`` returns: its metrics and its per-item samples; ``exports`` names files written in
    other tools' formats (FastChat, alpaca_eval, lm-eval) for those tools, never read back by this project."""

    benchmark: str
    metrics: list[MetricResult]
    samples: list[Sample] = field(default_factory=list)
    exports: dict[str, str] = field(default_factory=dict)
    seconds: float | None = None


def finite_or_none(value: Any) -> Any:
    """NaN or infinity anywhere (libraries report failed runs that way) becomes None: results files are strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(v) for v in value]
    return value
