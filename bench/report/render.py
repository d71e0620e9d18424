"""Results -> every view on disk: {name}.md/.csv/.tex/.html, {name}.results.json and figure PNG/SVG files.

Everything is rendered in memory first and only then written (each file atomically), so a failure leaves the
previous report untouched rather than half of a new one.
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from .csv import render_csv
from .html import Perf, render_html
from .latex import render_latex
from .markdown import render_markdown
from .plots import FIGURE_NAMES, render_figures
from bench.io import atomic_write_bytes, json_text
from bench.results import Results, results_to_dict

from .table import build_table


def render_report(results: Results, out_dir: str | Path, name: str = "table2", *, perf: Perf | None = None,
                  title: str | None = None) -> list[Path]:
    """Write every view; returns the paths written. Figure files the results no longer support are removed."""
    out_dir = Path(out_dir)
    title = title or f"adpa-bench: {name} (profile {results.profile})"
    table = build_table(results)
    figures = render_figures(results)
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    files: dict[str, bytes] = {
        f"{name}.md": render_markdown(table, title).encode(),
        f"{name}.csv": render_csv(build_table(results, "all")).encode(),
        f"{name}.tex": render_latex(table).encode(),
        f"{name}.html": render_html(results, figures, title=title, perf=perf, generated=generated).encode(),
        f"{name}.results.json": json_text(results_to_dict(results)).encode(),
    }
    for figure in figures:
        files[f"{figure.name}.png"] = figure.png
        files[f"{figure.name}.svg"] = figure.svg
    written = []
    for filename, data in files.items():
        atomic_write_bytes(out_dir / filename, data)
        written.append(out_dir / filename)
    for stale in FIGURE_NAMES:  # a figure from an earlier render that these results cannot draw would mislead
        if stale not in {f.name for f in figures}:
            for ext in ("png", "svg"):
                (out_dir / f"{stale}.{ext}").unlink(missing_ok=True)
    return written
