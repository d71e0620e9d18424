"""`bench`: one entry point; each subcommand lives in bench/commands/<name>.py with a register()."""
from __future__ import annotations

import argparse
import importlib
import sys

# Each module defines register(subparsers) and sets a `func(args) -> int` default.
COMMANDS = ("list", "data", "run", "eval", "report", "reproduce", "perf", "alpaca_eval_winrate", "judge_check")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench", description="Preference-alignment distillation benchmark (SFT, DPO, DCKD, ADPA, ADPA+).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"bench.commands.{name}")
        except ModuleNotFoundError as err:
            if err.name == f"bench.commands.{name}":
                continue  # a command not built in this checkout
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
