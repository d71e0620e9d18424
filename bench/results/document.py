"""The results document (schema "adpa-bench/results/v2"): build, validate, save, load and merge.

A results file holds one entry per evaluated model (student x method x seed x study, plus the teacher rows);
each entry holds its metrics (``bench.results.schema.MetricResult``: value, n, 95% interval, per-item scores), its
samples, curves and run facts. Validation is strict because every table and plot trusts it: a bad file fails with
the file, the entry (index, student, method, seed) and the field in the message. Files of schema v1 (written
before intervals existed) still load: their metrics simply carry no interval and no item scores.

- entry ``"teacher"``: alias of the teacher a student row was distilled from; it puts that teacher's rows
  (``ref_teacher``/``dpo_teacher`` entries whose ``student`` is the teacher alias) into the student's table block.
- entry ``"study"``: ``"main"`` (default) rows form the comparison table; any other name (e.g. ``"figure5"``) marks
  hyper-parameter sweep runs, which only the plots use.
Unknown entry and top-level keys are kept (``extra``) and written back.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench.errors import BenchError
from bench.io import atomic_write_text, json_text, reject_constant

from .schema import SCORE_KINDS, Interval, MetricResult, Sample, finite_or_none

SCHEMA = "adpa-bench/results/v2"
SCHEMA_V1 = "adpa-bench/results/v1"
RESULTS_FILENAME = "results.json"  # what a run directory holds
# The table's teacher rows: pipeline roles, not training methods (method names come from methods.registry).
TEACHER_ROWS = {"ref_teacher": "Teacher (reference)", "dpo_teacher": "Teacher (DPO)"}
MAIN_STUDY = "main"


def known_methods() -> dict[str, str]:
    """Row kind -> label, in table order: the teacher rows, then every registered method."""
    from methods.registry import METHODS

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


# ---------------------------------------------------------------------------------------------------------- checks
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


# ------------------------------------------------------------------------------------------------------------- I/O
def resolve_results_path(path: str | os.PathLike) -> Path:
    """A results file, or a run directory that holds ``results.json``."""
    path = Path(path)
    if path.is_dir():
        candidate = path / RESULTS_FILENAME
        if not candidate.is_file():
            raise ResultsError(f"{path}: a run directory must contain {RESULTS_FILENAME} (not found)")
        return candidate
    if not path.is_file():
        raise ResultsError(f"{path}: no such results file or run directory")
    return path


def load_results(path: str | os.PathLike) -> Results:
    file = resolve_results_path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ResultsError(f"{file}: not UTF-8 text ({err})") from None
    try:
        data = json.loads(text, parse_constant=reject_constant)
    except json.JSONDecodeError as err:
        raise ResultsError(f"{file}: not valid JSON: {err.msg} at line {err.lineno} column {err.colno}") from None
    except ValueError as err:
        raise ResultsError(f"{file}: not valid JSON: {err}") from None
    return parse_results(data, str(file))


def merge_results(parts: list[Results]) -> Results:
    """Entries of several results files in one Results; refuses the same (student, method, seed) twice."""
    if not parts:
        raise ResultsError("no results to merge")
    if len(parts) == 1:
        return parts[0]
    entries = [entry for part in parts for entry in part.entries]
    _check_unique(entries)
    profiles = sorted({part.profile for part in parts})
    sources = [source for part in parts for source in part.sources]
    meta = {"merged_from": [{"path": s.path, "profile": s.profile, "created": s.created, "meta": s.meta} for s in sources]}
    return Results(profile=profiles[0] if len(profiles) == 1 else "+".join(profiles), created=_now(), meta=meta,
                   entries=entries, sources=sources)


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _entry_dict(e: Entry) -> dict:
    out: dict[str, Any] = {"student": e.student, "method": e.method, "seed": e.seed, "model": e.model}
    if e.teacher is not None:
        out["teacher"] = e.teacher
    if e.study != MAIN_STUDY:
        out["study"] = e.study
    if e.run_dir is not None:
        out["run_dir"] = e.run_dir
    if e.wall_time_s:
        out["wall_time_s"] = e.wall_time_s
    if e.hyperparameters:
        out["hyperparameters"] = e.hyperparameters
    out["metrics"] = [m.to_dict() for m in e.metrics]
    if e.curves:
        out["curves"] = [{"name": p.name, "step": p.step, "value": p.value, **p.extra} for p in e.curves]
    if e.samples:
        out["samples"] = [{"benchmark": s.benchmark, "item_id": s.item_id, "prompt": s.prompt, "output": s.output,
                           "rating": s.rating, "rationale": s.rationale, **s.extra} for s in e.samples]
    out.update(e.extra)
    return out


def results_to_dict(results: Results) -> dict:
    """The document as plain data, with the paired comparisons derived from its entries (for other tools to read;
    this project recomputes them from the entries whenever it loads or merges results)."""
    from .compare import comparisons

    return finite_or_none({"schema": SCHEMA, "profile": results.profile, "created": results.created or _now(),
                           "meta": results.meta, "entries": [_entry_dict(e) for e in results.entries],
                           "comparisons": [c.to_dict() for c in comparisons(results.entries)], **results.extra})


def save_results(results: Results, path: str | os.PathLike) -> Path:
    """Validate then write atomically; what is saved loads back to equal entries."""
    document = results_to_dict(results)
    parse_results(json.loads(json.dumps(document)), str(path))  # never write a file we would refuse to read
    atomic_write_text(path, json_text(document))
    return Path(path)


def same_row(a: Entry, b: Entry) -> bool:
    return (a.student, a.method, a.seed, a.study) == (b.student, b.method, b.seed, b.study)


def update_results_file(path: str | os.PathLike, profile: str, meta: dict, entries: list[Entry]) -> tuple[Results, list[Entry]]:
    """Add ``entries`` to the results file at ``path`` (created if missing), replacing earlier entries of the same
    (student, method, seed, study); returns the saved results and the entries it replaced (for the caller to say)."""
    path = Path(path)
    old = load_results(path) if path.exists() else None
    kept = [e for e in (old.entries if old else []) if not any(same_row(e, new) for new in entries)]
    replaced = [e for e in (old.entries if old else []) if any(same_row(e, new) for new in entries)]
    merged_meta = {**(old.meta if old else {}), **meta}
    results = Results(profile=profile, created=_now(), meta=merged_meta, entries=kept + list(entries),
                      extra=old.extra if old else {})
    save_results(results, path)
    return results, replaced
