"""`bench list`: the registered methods, model aliases or data sets (arguments: bench/arguments/list.py)."""
from __future__ import annotations

from bench.datasets import SOURCES
from bench.models import ALIASES
from methods.registry import METHODS


def run(args) -> int:
    if args.what == "methods":
        rows = [(m.name, m.description + (f" [needs: {', '.join(sorted(m.needs))}]" if m.needs else "")) for m in METHODS.values()]
    elif args.what == "models":
        rows = [(a.name, f"{a.description}" + (f" ({a.hub_id})" if a.hub_id else "")) for a in ALIASES.values()]
    else:
        rows = [(s.name, s.description) for s in SOURCES.values()]
    if args.verbose:
        width = max(len(name) for name, _ in rows)
        for name, text in rows:
            print(f"{name:<{width}}  {text}")
    else:
        print(" ".join(name for name, _ in rows))
    return 0
