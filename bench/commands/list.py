"""`bench list methods|models|datasets`."""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("list", help="list methods, models or datasets")
    p.add_argument("what", choices=("methods", "models", "datasets"))
    p.add_argument("-v", "--verbose", action="store_true", help="one line per entry with its description")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.what == "methods":
        from methods.registry import METHODS  # deferred: keeps bench --help fast

        rows = [(m.name, m.description + (f" [needs: {', '.join(sorted(m.needs))}]" if m.needs else "")) for m in METHODS.values()]
    elif args.what == "models":
        from bench.models import ALIASES  # deferred: keeps bench --help fast

        rows = [(a.name, f"{a.description}" + (f" ({a.hub_id})" if a.hub_id else "")) for a in ALIASES.values()]
    else:
        from bench.datasets import SOURCES  # deferred: keeps bench --help fast

        rows = [(s.name, s.description) for s in SOURCES.values()]
    if args.verbose:
        width = max(len(name) for name, _ in rows)
        for name, text in rows:
            print(f"{name:<{width}}  {text}")
    else:
        print(" ".join(name for name, _ in rows))
    return 0
