"""`bench report RESULTS_OR_RUN_DIR... --out DIR [--name table2] [--perf PERF.json]`.

Renders any set of results files (a run directory holds results.json) into DIR: {name}.md/.csv/.tex/.html, the
merged {name}.results.json, and figure5.png/.svg and curves.png/.svg when the results hold the data for them.
"""
from __future__ import annotations

import sys


def register(sub) -> None:
    p = sub.add_parser("report", help="render results JSON files or run directories as tables, plots and an HTML report",
                       description=__doc__.split("\n\n", 1)[1].strip())
    p.add_argument("inputs", nargs="+", metavar="RESULTS_OR_RUN_DIR", help="results JSON files or run directories")
    p.add_argument("--out", required=True, help="output directory (created if missing)")
    p.add_argument("--name", default="table2", help="base name of the table files (default: %(default)s)")
    p.add_argument("--perf", help="optional perf JSON (a list of row objects, or {'rows': [...]}) shown in the HTML")
    p.add_argument("--title", help="report title (default: derived from --name and the profile)")
    p.set_defaults(func=run)


def run(args) -> int:
    from bench.report.html import load_perf
    from bench.report.render import render_report
    from bench.results import ResultsError, load_results, merge_results

    if "/" in args.name or args.name in ("", ".", ".."):
        print(f"bench report: --name must be a plain file name, got {args.name!r}", file=sys.stderr)
        return 2
    try:
        results = merge_results([load_results(path) for path in args.inputs])
        perf = load_perf(args.perf) if args.perf else None
        written = render_report(results, args.out, args.name, perf=perf, title=args.title)
    except ResultsError as err:
        print(f"bench report: {err}", file=sys.stderr)
        return 2
    rows = sum(1 for e in results.entries)
    print(f"rendered {rows} entries from {len(args.inputs)} input(s) into {args.out}:")
    for path in written:
        print(f"  {path}")
    return 0
