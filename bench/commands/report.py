"""`bench report`: render results files or run directories into tables, plots and the HTML report (arguments:
bench/arguments/report.py)."""
from __future__ import annotations

from bench.report.html import load_perf
from bench.report.render import render_report
from bench.results import load_results, merge_results


def run(args) -> int:
    # A ResultsError (a bad results or perf file) is reported by bench.cli: one line naming file, entry and field.
    results = merge_results([load_results(path) for path in args.inputs])
    perf = load_perf(args.perf) if args.perf else None
    written = render_report(results, args.out, args.name, perf=perf, title=args.title)
    rows = sum(1 for e in results.entries)
    print(f"rendered {rows} entries from {len(args.inputs)} input(s) into {args.out}:")
    for path in written:
        print(f"  {path}")
    return 0
