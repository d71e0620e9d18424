"""`bench data show|stats NAME`: look at a data set's records; for `builtin`, with constraints and verifier scores."""
from __future__ import annotations

from .types import existing_folder, whole_number


def register(sub) -> None:
    p = sub.add_parser("data", help="show records of a data set, or per-kind statistics")
    p.add_argument("action", choices=("show", "stats"))
    p.add_argument("name", help="data set name (see `bench list datasets`)")
    p.add_argument("--n", type=whole_number(1), default=3, help="how many records to show (default 3)")
    p.add_argument("--split", default="train", help="train or test (default train)")
    p.add_argument("--seed", type=int, default=None, help="builtin only: generator seed (default 0)")
    p.add_argument("--data-dir", type=existing_folder, default=None, help="local copies of hub data sets (default $BENCH_DATA_DIR)")
    p.set_defaults(func=main)


def main(args) -> int:
    from bench.commands.data import run  # deferred: rich and the data sources double `bench --help`'s 0.1 s

    return run(args)
