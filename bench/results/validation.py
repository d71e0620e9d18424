"""Validation of a decoded results document: strict, because every table and plot trusts it. A bad file fails with
the file, the entry (index, student, method, seed) and the field in the message. Files of schema v1 (written before
intervals existed) still load: their metrics simply carry no interval and no item scores. Unknown entry and top-level
keys are kept (``extra``) and written back.
"""
from __future__ import annotations

import json
import math
from typing import Any

from .entries import MAIN_STUDY, SCHEMA, SCHEMA_V1, CurvePoint, Entry, Results, ResultsError, Source, known_methods
from .schema import SCORE_KINDS, Interval, MetricResult, Sample

class _Checker:
    """Builds error messages of the form ``FILE: entries[3] (student ..., method ...): metrics[1].value: ...``."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, where: str, message: str) -> ResultsError:
        return ResultsError(f"{self.source}: {where}: {message}" if where else f"{self.source}: {message}")

    def string(self, obj: dict, key: str, where: str, *, required: bool = True, allow_empty: bool = False) -> str | None:
        if key not in obj or obj[key] is None:
            if required:
                raise self.fail(where, f"missing required field {key!r}")
            return None
        value = obj[key]
        if not isinstance(value, str) or (not allow_empty and not value.strip()):
            raise self.fail(f"{where}.{key}" if where else key, f"expected a non-empty string, got {value!r}")
        return value

    def number(self, obj: dict, key: str, where: str, *, nullable: bool = True, required: bool = False) -> float | None:
        if key not in obj:
            if required:
                raise self.fail(where, f"missing required field {key!r}")
            return None
        value = obj[key]
        if value is None and nullable:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            kind = "a finite number or null" if nullable else "a finite number"
            raise self.fail(f"{where}.{key}", f"expected {kind}, got {value!r}")
        return float(value)

    def integer(self, obj: dict, key: str, where: str, *, default: int | None = None, minimum: int = 0) -> int:
        if key not in obj or obj[key] is None:
            if default is None:
                raise self.fail(where, f"missing required field {key!r}")
            return default
        value = obj[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(f"{where}.{key}", f"expected an integer >= {minimum}, got {value!r}")
        return value

    def mapping(self, obj: dict, key: str, where: str) -> dict:
        value = obj.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(f"{where}.{key}" if where else key, f"expected an object, got {type(value).__name__}")
        return value

    def listing(self, obj: dict, key: str, where: str, *, required: bool = False) -> list:
        if key not in obj or obj[key] is None:
            if required:
                raise self.fail(where, f"missing required field {key!r}")
            return []
        value = obj[key]
        if not isinstance(value, list):
            raise self.fail(f"{where}.{key}" if where else key, f"expected a list, got {type(value).__name__}")
        return value

    def obj(self, value: Any, where: str) -> dict:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected an object, got {type(value).__name__}")
        return value


def _extra(obj: dict, known: tuple[str, ...]) -> dict:
    return {k: v for k, v in obj.items() if k not in known}


_METRIC_KEYS = ("benchmark", "metric", "value", "n_items", "n_failures", "stderr", "missing_reason", "details",
                "interval", "items", "higher_is_better")


def _parse_interval(c: _Checker, raw: dict, where: str) -> Interval | None:
    value = raw.get("interval")
    if value is None:
        return None
    value = c.obj(value, f"{where}.interval")
    low, high = c.number(value, "low", f"{where}.interval", nullable=False, required=True), \
        c.number(value, "high", f"{where}.interval", nullable=False, required=True)
    if low > high:
        raise c.fail(f"{where}.interval", f"low {low} is above high {high}")
    level = c.number(value, "level", f"{where}.interval", nullable=False) or 0.95
    return Interval(low, high, c.string(value, "method", f"{where}.interval"), level)


def _parse_items(c: _Checker, raw: dict, where: str) -> tuple[dict[str, float] | None, str | None]:
    value = raw.get("items")
    if value is None:
        return None, None
    value = c.obj(value, f"{where}.items")
    kind = value.get("kind")
    if kind not in SCORE_KINDS:
        raise c.fail(f"{where}.items.kind", f"expected one of {', '.join(SCORE_KINDS)}, got {kind!r}")
    ids, scores = c.listing(value, "ids", f"{where}.items", required=True), c.listing(value, "scores", f"{where}.items", required=True)
    if len(ids) != len(scores):
        raise c.fail(f"{where}.items", f"{len(ids)} ids but {len(scores)} scores")
    if len(set(map(str, ids))) != len(ids):
        raise c.fail(f"{where}.items.ids", "item ids must be unique")
    for i, score in enumerate(scores):
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
            raise c.fail(f"{where}.items.scores[{i}]", f"expected a finite number, got {score!r}")
    return {str(i): float(v) for i, v in zip(ids, scores)}, kind


def _parse_metric(c: _Checker, raw: Any, where: str) -> MetricResult:
    raw = c.obj(raw, where)
    if "value" not in raw:
        raise c.fail(where, "missing required field 'value' (use null plus 'missing_reason' when not measured)")
    unknown = sorted(set(raw) - set(_METRIC_KEYS))
    if unknown:
        raise c.fail(where, f"unknown field(s) {', '.join(unknown)}")
    item_scores, kind = _parse_items(c, raw, where)
    metric = MetricResult(
        benchmark=c.string(raw, "benchmark", where),
        metric=c.string(raw, "metric", where),
        value=c.number(raw, "value", where),
        n_items=c.integer(raw, "n_items", where, default=0),
        n_failures=c.integer(raw, "n_failures", where, default=0),
        stderr=c.number(raw, "stderr", where),
        missing_reason=c.string(raw, "missing_reason", where, required=False),
        details=c.mapping(raw, "details", where),
        interval=_parse_interval(c, raw, where),
        item_scores=item_scores,
        score_kind=kind,
        higher_is_better=raw.get("higher_is_better", True) is not False,
    )
    if metric.value is None and metric.missing_reason is None:
        raise c.fail(f"{where}.missing_reason", "value is null, so missing_reason must say why it was not measured")
    return metric


def _parse_curve(c: _Checker, raw: Any, where: str) -> CurvePoint:
    raw = c.obj(raw, where)
    return CurvePoint(
        name=c.string(raw, "name", where),
        step=c.integer(raw, "step", where),
        value=c.number(raw, "value", where, required=True),
        extra=_extra(raw, ("name", "step", "value")),
    )


_SAMPLE_KEYS = ("benchmark", "item_id", "prompt_id", "prompt", "output", "rating", "rationale")


def _parse_sample(c: _Checker, raw: Any, where: str) -> Sample:
    raw = c.obj(raw, where)
    item_id = raw.get("item_id", raw.get("prompt_id"))  # v1 called it prompt_id
    if isinstance(item_id, int) and not isinstance(item_id, bool):
        item_id = str(item_id)
    return Sample(
        benchmark=c.string(raw, "benchmark", where),
        item_id=c.string({"item_id": item_id}, "item_id", where),
        prompt=c.string(raw, "prompt", where, allow_empty=True),
        output=c.string(raw, "output", where, allow_empty=True),
        rating=c.number(raw, "rating", where),
        rationale=c.string(raw, "rationale", where, required=False, allow_empty=True),
        extra=_extra(raw, _SAMPLE_KEYS),
    )


_ENTRY_KEYS = ("student", "method", "seed", "model", "run_dir", "wall_time_s", "hyperparameters", "metrics", "curves",
               "samples", "teacher", "study")


def _parse_entry(c: _Checker, raw: Any, index: int) -> Entry:
    where = f"entries[{index}]"
    raw = c.obj(raw, where)
    student, method = c.string(raw, "student", where), c.string(raw, "method", where)
    methods = known_methods()
    if method not in methods:
        raise c.fail(f"{where}.method", f"unknown method {method!r}; expected one of {', '.join(methods)} "
                                        "(a method must be registered in methods.registry)")
    seed = c.integer(raw, "seed", where, minimum=-(2**63))
    where = f"{where} (student {student!r}, method {method!r}, seed {seed})"
    wall = c.mapping(raw, "wall_time_s", where)
    # null: a stage with no timing (e.g. reused from the cache)
    wall_time = {str(stage): c.number(wall, stage, f"{where}.wall_time_s") for stage in wall}
    metrics = [_parse_metric(c, m, f"{where}: metrics[{i}]") for i, m in enumerate(c.listing(raw, "metrics", where, required=True))]
    seen: dict[tuple[str, str], int] = {}
    for i, m in enumerate(metrics):
        if m.key in seen:
            raise c.fail(f"{where}: metrics[{i}]", f"duplicate metric {m.benchmark}/{m.metric} (also metrics[{seen[m.key]}])")
        seen[m.key] = i
    study = c.string(raw, "study", where, required=False) or MAIN_STUDY
    return Entry(
        student=student,
        method=method,
        seed=seed,
        model=c.string(raw, "model", where),
        metrics=metrics,
        run_dir=c.string(raw, "run_dir", where, required=False),
        wall_time_s=wall_time,
        hyperparameters=c.mapping(raw, "hyperparameters", where),
        curves=[_parse_curve(c, p, f"{where}: curves[{i}]") for i, p in enumerate(c.listing(raw, "curves", where))],
        samples=[_parse_sample(c, s, f"{where}: samples[{i}]") for i, s in enumerate(c.listing(raw, "samples", where))],
        teacher=c.string(raw, "teacher", where, required=False),
        study=study,
        extra=_extra(raw, _ENTRY_KEYS),
        source=c.source,
    )


def parse_results(data: Any, source: str = "<results>") -> Results:
    """Validate an already-decoded results document; ``source`` names it in error messages."""
    c = _Checker(source)
    data = c.obj(data, "top level")
    schema = data.get("schema")
    if schema not in (SCHEMA, SCHEMA_V1):
        raise c.fail("schema", f"expected {SCHEMA!r} (or the older {SCHEMA_V1!r}), got {schema!r}")
    profile = c.string(data, "profile", "")
    created = c.string(data, "created", "", required=False) or ""
    meta = c.mapping(data, "meta", "")
    entries = [_parse_entry(c, raw, i) for i, raw in enumerate(c.listing(data, "entries", "", required=True))]
    _check_unique(entries)
    return Results(profile=profile, created=created, meta=meta, entries=entries,
                   sources=[Source(source, profile, created, meta)],
                   extra=_extra(data, ("schema", "profile", "created", "meta", "entries", "comparisons")))


def _identity(entry: Entry) -> tuple:
    return (entry.student, entry.method, entry.seed, entry.study,
            json.dumps(entry.hyperparameters, sort_keys=True, default=str))


def _check_unique(entries: list[Entry]) -> None:
    """The same model evaluated twice would count as two seeds: refuse rather than average it in silently."""
    seen: dict[tuple, Entry] = {}
    for entry in entries:
        key = _identity(entry)
        if key in seen:
            first = seen[key]
            raise ResultsError(f"duplicate entry ({entry.describe()}, study {entry.study!r}, same hyperparameters) "
                               f"in {entry.source} and {first.source}: remove one of them or give it another seed")
        seen[key] = entry
