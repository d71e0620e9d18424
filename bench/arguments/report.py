"""`bench report RESULTS_OR_RUN_DIR... --out DIR [--name table2] [--perf PERF.json]`.

Renders any set of results files (a run directory holds results.json) into DIR: {name}.md/.csv/.tex/.html, the
merged {name}.results.json, and figure5.png/.svg and curves.png/.svg when the results hold the data for them.
"""
from __future__ import annotations

from .types import output_folder, plain_name


def register(sub) -> None:
    p = sub.add_parser("report", help="render results JSON files or run directories as tables, plots and an HTML report",
                       description=__doc__.split("\n\n", 1)[1].strip())
    p.add_argument("inputs", nargs="+", metavar="RESULTS_OR_RUN_DIR", help="results JSON files or run directories")
    p.add_argument("--out", required=True, type=output_folder, help="output directory (created if missing)")
    p.add_argument("--name", default="table2", type=plain_name, help="base name of the table files (default: %(default)s)")
    p.add_argument("--perf", help="optional perf JSON (a list of row objects, or {'rows': [...]}) shown in the HTML")
    p.add_argument("--title", help="report title (default: derived from --name and the profile)")
    p.add_argument("--methods", help="comma-separated row kinds to render (methods, ref_teacher, dpo_teacher); entries "
                                     "of any other method in the inputs are left out, and the count says so "
                                     "(default: every entry)")
    p.set_defaults(func=main)


def main(args) -> int:
    from bench.commands.report import run  # deferred: rendering imports SciPy and matplotlib (seconds)

    return run(args)
