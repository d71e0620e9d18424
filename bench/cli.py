"""`bench`: one entry point. Each subcommand's arguments live in bench/arguments/<name>.py, its implementation in
bench/commands/<name>.py, imported only when that subcommand runs (so `bench --help` imports no torch).

A user's mistake ends in one line naming what and where, and a non-zero exit code (bench.errors); ``--debug``
shows the traceback instead.
"""
from __future__ import annotations

import argparse
import os
import sys

from bench.arguments import SUBCOMMANDS
from bench.errors import describe, show_warnings_on_terminal

# Our progress lines replace the libraries' tqdm bars (alpaca_eval's annotation chunks, lm-eval's requests). tqdm
# reads TQDM_* defaults once, when it is first imported, so this must come before anything imports it.
os.environ.setdefault("TQDM_DISABLE", "1")
# Deterministic cuBLAS (bench.pipeline.context.CUBLAS_WORKSPACE): read once, at the first CUDA matmul of the process.
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


class Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line (``bench eval: error: argument --limit: ...``) and exit code 2, like
    every other user error, instead of the whole usage text first."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="bench", description="Preference-alignment distillation benchmark (SFT, DPO, DCKD, ADPA, ADPA+).")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in SUBCOMMANDS:  # each registers its arguments and sets a `func(args) -> int` default
        command.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    show_warnings_on_terminal()
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # noqa: BLE001 - user errors become one line; bugs keep their traceback
        known = None if args.debug else describe(err)
        if known is None:
            raise
        message, code = known
        print(f"bench {args.command}: error: {message}", file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
