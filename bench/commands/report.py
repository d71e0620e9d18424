"""`bench report RESULTS_OR_RUN_DIR... --out DIR [--name table2] [--perf PERF.json]`.

Renders any set of results files (a run directory holds results.json) into DIR: {name}.md/.csv/.tex/.html, the
merged {name}.results.json, and figure5.png/.svg and curves.png/.svg when the results hold the data for them.
"""
from __future__ import annotations

from .args import output_folder, plain_name


def register(sub) -> None:
    p = sub.add_parser("report", help="render results JSON files or run directories as tables, plots and an HTML report",
                       description=__doc__.split("\n\n", 1)[1].strip())
    p.add_argument("inputs", nargs="+", metavar="RESULTS_OR_RUN_DIR", help="results JSON files or run directories")
    p.add_argument("--out", required=True, type=output_folder, help="output directory (created if missing)")
    p.add_argument("--name", default="table2", type=plain_name, help="base name of the table files (default: %(default)s)")
    p.add_argument("--perf", help="optional perf JSON (a list of row objects, or {'rows': [...]}) shown in the HTML")
    p.add_argument("--title", help="report title (default: derived from --name and the profile)")
    p.set_defaults(func=run)


def run(args) -> int:
    from bench.report.html import load_perf  # deferred: keeps bench --help fast
    from bench.report.render import render_report
    from bench.results import load_results, merge_results

    # A ResultsError (a bad results or perf file) is reported by bench.cli: one line naming file, entry and field.
    results = merge_results([load_results(path) for path in args.inputs])
    perf = load_perf(args.perf) if args.perf else None
    written = render_report(results, args.out, args.name, perf=perf, title=args.title)
    rows = sum(1 for e in results.entries)
    print(f"rendered {rows} entries from {len(args.inputs)} input(s) into {args.out}:")
    for path in written:
        print(f"  {path}")
    return 0
