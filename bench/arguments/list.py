"""`bench list methods|models|datasets`."""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("list", help="list methods, models or datasets")
    p.add_argument("what", choices=("methods", "models", "datasets"))
    p.add_argument("-v", "--verbose", action="store_true", help="one line per entry with its description")
    p.set_defaults(func=main)


def main(args) -> int:
    from bench.commands.list import run  # deferred: methods.registry imports torch; bench --help stays fast

    return run(args)
