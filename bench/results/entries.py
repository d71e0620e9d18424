"""The results document's shape: ``Results`` holds one ``Entry`` per evaluated model (student x method x seed x study,
plus the teacher rows), each with its metrics, samples, curves and run facts; and the error a file that cannot be
used raises. bench.results.validation builds them from JSON, bench.results.document loads, saves and merges them.

- entry ``"teacher"``: alias of the teacher a student row was distilled from; it puts that teacher's rows
  (``ref_teacher``/``dpo_teacher`` entries whose ``student`` is the teacher alias) into the student's table block.
- entry ``"study"``: ``"main"`` (default) rows form the comparison table; any other name (e.g. ``"figure5"``) marks
  hyper-parameter sweep runs, which only the plots use.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench.errors import BenchError

from .schema import MetricResult, Sample

SCHEMA = "adpa-bench/results/v2"
SCHEMA_V1 = "adpa-bench/results/v1"
# The table's teacher rows: pipeline roles, not training methods (method names come from methods.registry).
TEACHER_ROWS = {"ref_teacher": "Teacher (reference)", "dpo_teacher": "Teacher (DPO)"}
MAIN_STUDY = "main"



def known_methods() -> dict[str, str]:
    """Row kind -> label, in table order: the teacher rows, then every registered method."""
    from methods.registry import METHODS  # deferred: it imports torch, which reading results does not need

    return {**TEACHER_ROWS, **{name: method.label for name, method in METHODS.items()}}



class ResultsError(BenchError, ValueError):
    """A results file (or a set of them) that cannot be used; the message names file, entry and field."""



@dataclass
class CurvePoint:
    name: str
    step: int
    value: float | None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Entry:
    student: str
    method: str
    seed: int
    model: str
    metrics: list[MetricResult]
    run_dir: str | None = None
    wall_time_s: dict[str, float | None] = field(default_factory=dict)
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    curves: list[CurvePoint] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    teacher: str | None = None
    study: str = MAIN_STUDY
    extra: dict[str, Any] = field(default_factory=dict)
    source: str = ""  # the file this entry was read from (not saved)

    @property
    def is_teacher(self) -> bool:
        return self.method in TEACHER_ROWS

    @property
    def teacher_alias(self) -> str | None:
        linked = self.teacher if self.teacher is not None else self.hyperparameters.get("teacher")
        return linked if isinstance(linked, str) and linked else None

    def metric(self, benchmark: str, name: str) -> MetricResult | None:
        for row in self.metrics:
            if row.benchmark == benchmark and row.metric == name:
                return row
        return None

    def describe(self) -> str:
        return f"student {self.student!r}, method {self.method!r}, seed {self.seed}"


@dataclass
class Source:
    """One results file that went into a (possibly merged) Results."""

    path: str
    profile: str
    created: str
    meta: dict[str, Any]


@dataclass
class Results:
    profile: str
    created: str
    meta: dict[str, Any]
    entries: list[Entry]
    sources: list[Source] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
