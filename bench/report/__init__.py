"""Results JSON -> views: tables (Markdown, CSV, LaTeX, HTML) and plots (matplotlib).

Everything here reads only the results JSON (schema "adpa-bench/results/v1"), so a report can be rebuilt from runs
made on other machines. Entry point: ``bench report`` (bench/commands/report.py) or :func:`render_report`.
"""
from __future__ import annotations

from .results import ResultsError, Results, load_results, merge_results, save_results

__all__ = ["ResultsError", "Results", "load_results", "merge_results", "save_results"]
