"""`bench report`: render results files or run directories into tables, plots and the HTML report (arguments:
bench/arguments/report.py)."""
from __future__ import annotations

import dataclasses
import sys

from bench.errors import UsageError
from bench.report.html import load_perf
from bench.report.render import render_report
from bench.results import Results, known_methods, load_results, merge_results


def only_methods(results: Results, spec: str) -> tuple[Results, list[str]]:
    """The entries whose row kind is listed in ``spec`` (comma-separated), and the sorted kinds left out."""
    wanted = [m.strip() for m in spec.split(",") if m.strip()]
    unknown = [m for m in wanted if m not in known_methods()]
    if unknown or not wanted:
        raise UsageError(f"--methods: unknown row kind(s) {', '.join(unknown) or '(none given)'}; choose from "
                         f"{', '.join(known_methods())}")
    kept = [e for e in results.entries if e.method in wanted]
    left_out = sorted({e.method for e in results.entries if e.method not in wanted})
    return dataclasses.replace(results, entries=kept), left_out


def run(args) -> int:
    # A ResultsError (a bad results or perf file) is reported by bench.cli: one line naming file, entry and field.
    results = merge_results([load_results(path) for path in args.inputs])
    if args.methods:
        before = len(results.entries)
        results, left_out = only_methods(results, args.methods)
        if left_out:  # e.g. rows an earlier `bench run` of other methods left in the same run folder
            n = before - len(results.entries)
            print(f"bench report: left out {n} {'entry' if n == 1 else 'entries'} of methods not asked for "
                  f"({', '.join(left_out)})", file=sys.stderr)
        if not results.entries:
            raise UsageError(f"--methods {args.methods}: none of the inputs' entries is of these methods")
    perf = load_perf(args.perf) if args.perf else None
    written = render_report(results, args.out, args.name, perf=perf, title=args.title)
    rows = sum(1 for e in results.entries)
    print(f"rendered {rows} entries from {len(args.inputs)} input(s) into {args.out}:")
    for path in written:
        print(f"  {path}")
    return 0
