"""The self-contained HTML report: table, figures (inline base64 PNG), run metadata, sample browser, perf.

One file, no scripts, no network: CSS is inline, images are data: URIs, and a Content-Security-Policy forbids
anything else. Every string from the results (model output, judge rationale, names) goes through Jinja2's
autoescaping; the template marks nothing safe except the image data it builds itself.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from .plots import Rendered
from bench.results import Results, ResultsError, known_methods

from .cells import cell_text
from .marks import legend
from .table import build_table

TEMPLATES = Path(__file__).parent / "templates"
FIGURE_TITLES = {"figure5": "Figure 5: hyper-parameter study (DCKD alpha, ADPA gamma)",
                 "curves": "Training curves"}


@dataclass
class Perf:
    rows: list[dict[str, Any]]
    columns: list[str]
    meta: list[tuple[str, str]] = field(default_factory=list)
    source: str = ""


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.globals["cell_text"] = cell_text
    env.globals["legend"] = legend
    return env


def _scalar(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return "" if value is None else str(value)


def flatten(meta: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Free-form metadata as (dotted key, text) pairs; lists of plain values stay on one line."""
    if isinstance(meta, dict):
        pairs = []
        for key, value in meta.items():
            pairs += flatten(value, f"{prefix}.{key}" if prefix else str(key))
        return pairs
    if isinstance(meta, list) and any(isinstance(v, (dict, list)) for v in meta):
        pairs = []
        for index, value in enumerate(meta):
            pairs += flatten(value, f"{prefix}[{index}]")
        return pairs
    if isinstance(meta, list):
        return [(prefix, ", ".join(_scalar(v) for v in meta))]
    return [(prefix, _scalar(meta))]


def load_perf(path: str | Path) -> Perf:
    """A perf JSON: a list of row objects, or an object with a "rows" list (its other keys are shown as metadata)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultsError(f"{path}: no such perf file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ResultsError(f"{path}: not valid JSON ({err})") from None
    meta: dict = {}
    if isinstance(data, dict):
        if not isinstance(data.get("rows"), list):
            raise ResultsError(f"{path}: a perf file is a list of row objects or an object with a 'rows' list")
        meta = {k: v for k, v in data.items() if k != "rows"}
        data = data["rows"]
    if not isinstance(data, list):
        raise ResultsError(f"{path}: a perf file is a list of row objects or an object with a 'rows' list")
    columns: dict[str, None] = {}
    for index, row in enumerate(data):
        if not isinstance(row, dict):
            raise ResultsError(f"{path}: rows[{index}]: expected an object, got {type(row).__name__}")
        columns.update(dict.fromkeys(map(str, row)))
    rows = [{str(k): _scalar(v) for k, v in row.items()} for row in data]
    return Perf(rows, list(columns), flatten(meta), str(path))


def _runs(results: Results) -> list[dict]:
    order = {m: i for i, m in enumerate(known_methods())}
    entries = sorted(results.entries, key=lambda e: (e.study != "main", e.study, e.student, order[e.method], e.seed))
    runs = []
    for e in entries:
        total = sum(v for v in e.wall_time_s.values() if v is not None)
        failures = sum(m.n_failures for m in e.metrics)
        notes = e.extra.get("notes")
        notes = [str(n) for n in notes] if isinstance(notes, list) else ([str(notes)] if notes else [])
        runs.append({"student": e.student, "method": known_methods()[e.method], "seed": e.seed, "study": e.study,
                     "model": e.model, "teacher": e.teacher_alias or "", "run_dir": e.run_dir or "",
                     "hyperparameters": _scalar(e.hyperparameters) if e.hyperparameters else "",
                     "wall": ", ".join(f"{k} {'–' if v is None else f'{v:.1f}'}" for k, v in e.wall_time_s.items()),
                     "total": f"{total:.1f}" if e.wall_time_s else "", "failures": failures, "source": e.source,
                     "notes": notes})
    return runs


SAMPLES_PER_BENCHMARK = 25  # prompts per benchmark in the browser; the results JSON holds every sample


def _samples(results: Results) -> list[dict]:
    """Prompts in first-seen order (the first SAMPLES_PER_BENCHMARK of each benchmark); for each, every model's
    output side by side in table row order."""
    order = {m: i for i, m in enumerate(known_methods())}
    prompts: dict[tuple[str, str, str], dict] = {}
    for e in sorted(results.entries, key=lambda e: (e.study != "main", e.student, order[e.method], e.seed)):
        label = f"{e.student} · {known_methods()[e.method]} · seed {e.seed}" + ("" if e.study == "main" else f" · {e.study}")
        for s in e.samples:
            # keyed by the prompt text too: two runs that disagree on a prompt id's text are not put side by side
            key = (s.benchmark, s.item_id, s.prompt)
            if key not in prompts and sum(k[0] == s.benchmark for k in prompts) >= SAMPLES_PER_BENCHMARK:
                continue
            group = prompts.setdefault(key,
                                       {"benchmark": s.benchmark, "prompt_id": s.item_id, "prompt": s.prompt,
                                        "outputs": []})
            group["outputs"].append({"label": label, "output": s.output, "rationale": s.rationale,
                                     "rating": "–" if s.rating is None else f"{s.rating:.4g}"})
    return list(prompts.values())


def render_html(results: Results, figures: list[Rendered], *, title: str, perf: Perf | None = None,
                generated: str = "") -> str:
    images = [{"name": f.name, "title": FIGURE_TITLES.get(f.name, f.name),
               "src": "data:image/png;base64," + base64.b64encode(f.png).decode("ascii")} for f in figures]
    drawn = {f.name for f in figures}
    figure_notes = []
    if "figure5" not in drawn:
        figure_notes.append("Figure 5 is not drawn: it needs DCKD runs at two or more values of alpha or ADPA runs at "
                            "two or more values of gamma, with a measured reward score or accuracy.")
    if "curves" not in drawn:
        figure_notes.append("No training curves in these results.")
    sources = [{"path": s.path, "profile": s.profile, "created": s.created, "meta": flatten(s.meta)}
               for s in results.sources]
    return _environment().get_template("report.html.j2").render(
        title=title, profile=results.profile, created=results.created, generated=generated,
        table=build_table(results, "main"), other=build_table(results, "other"), every=build_table(results, "all"),
        figures=images, figure_notes=figure_notes, runs=_runs(results), sources=sources,
        samples=_samples(results), perf=perf)
