"""The results document (schema "adpa-bench/results/v2") on disk: load (a file or a run directory), save (validated,
atomically, with the paired comparisons derived from its entries), merge several, and add a run's entries to a file.

Its shape is ``entries.py`` (Results, Entry); what makes a decoded file valid is ``validation.py``.
"""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench.io import atomic_write_text, json_text, reject_constant

from .compare import comparisons
from .entries import MAIN_STUDY, SCHEMA, Entry, Results, ResultsError
from .schema import finite_or_none
from .validation import _check_unique, parse_results

RESULTS_FILENAME = "results.json"  # what a run directory holds


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
