"""One model's evaluation (schema "adpa-bench/evaluation/v2"): what `bench eval` writes and what a pipeline eval
stage stores, so a run's results document is assembled from validated files, not re-parsed dicts.

    {"schema", "model", "created", "meta", "benchmarks": [{"benchmark", "seconds", "exports", "metrics", "samples"}],
     "curves": [...], "notes": [...]}
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench.io import read_json, write_json

from .entries import CurvePoint, ResultsError
from .validation import _Checker, _parse_curve, _parse_metric, _parse_sample
from .schema import BenchmarkResult, MetricResult, Sample, finite_or_none

EVALUATION_SCHEMA = "adpa-bench/evaluation/v2"


@dataclass
class Evaluation:
    model: str
    benchmarks: list[BenchmarkResult]
    meta: dict[str, Any] = field(default_factory=dict)
    curves: list[CurvePoint] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    created: str = ""

    @property
    def metrics(self) -> list[MetricResult]:
        return [m for b in self.benchmarks for m in b.metrics]

    @property
    def samples(self) -> list[Sample]:
        return [s for b in self.benchmarks for s in b.samples]


def _sample_dict(s: Sample) -> dict:
    return {"benchmark": s.benchmark, "item_id": s.item_id, "prompt": s.prompt, "output": s.output, "rating": s.rating,
            "rationale": s.rationale, **s.extra}


def evaluation_to_dict(ev: Evaluation) -> dict:
    return finite_or_none({
        "schema": EVALUATION_SCHEMA, "model": ev.model,
        "created": ev.created or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "meta": ev.meta,
        "benchmarks": [{"benchmark": b.benchmark, "seconds": b.seconds, "exports": b.exports,
                        "metrics": [m.to_dict() for m in b.metrics], "samples": [_sample_dict(s) for s in b.samples]}
                       for b in ev.benchmarks],
        "curves": [{"name": p.name, "step": p.step, "value": p.value, **p.extra} for p in ev.curves],
        "notes": ev.notes})


def save_evaluation(ev: Evaluation, path: str | os.PathLike) -> Path:
    document = evaluation_to_dict(ev)
    parse_evaluation(json.loads(json.dumps(document)), str(path))  # never write what we would refuse to read
    return write_json(path, document)


def parse_evaluation(data: Any, source: str) -> Evaluation:
    c = _Checker(source)
    data = c.obj(data, "top level")
    if data.get("schema") != EVALUATION_SCHEMA:
        raise c.fail("schema", f"expected {EVALUATION_SCHEMA!r}, got {data.get('schema')!r}")
    benchmarks = []
    for i, raw in enumerate(c.listing(data, "benchmarks", "", required=True)):
        where = f"benchmarks[{i}]"
        raw = c.obj(raw, where)
        benchmarks.append(BenchmarkResult(
            c.string(raw, "benchmark", where),
            [_parse_metric(c, m, f"{where}.metrics[{j}]") for j, m in enumerate(c.listing(raw, "metrics", where))],
            [_parse_sample(c, s, f"{where}.samples[{j}]") for j, s in enumerate(c.listing(raw, "samples", where))],
            {str(k): str(v) for k, v in c.mapping(raw, "exports", where).items()},
            c.number(raw, "seconds", where)))
    return Evaluation(c.string(data, "model", ""), benchmarks, c.mapping(data, "meta", ""),
                      [_parse_curve(c, p, f"curves[{i}]") for i, p in enumerate(c.listing(data, "curves", ""))],
                      [str(n) for n in c.listing(data, "notes", "")], c.string(data, "created", "", required=False) or "")


def load_evaluation(path: str | os.PathLike) -> Evaluation:
    try:
        data = read_json(path)
    except (OSError, ValueError) as err:
        raise ResultsError(f"{path}: cannot read the evaluation: {err}") from None
    return parse_evaluation(data, str(path))
