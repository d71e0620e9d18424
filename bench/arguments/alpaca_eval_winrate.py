"""`bench alpaca-eval-winrate ANNOTATIONS.json`: re-score an alpaca_eval annotations file.

Prints the leaderboard columns computed by alpaca_eval's metric functions (see bench.evals.alpaca_metrics):
win_rate, standard_error, n_wins, n_draws, n_total, length_controlled_winrate.
"""
from __future__ import annotations

from pathlib import Path

from .types import existing_folder


def register(sub) -> None:
    p = sub.add_parser("alpaca-eval-winrate", help="re-score an alpaca_eval annotations file (win rate, LC win rate)")
    p.add_argument("annotations", type=Path, help="alpaca_eval annotations JSON (a list of records with 'preference')")
    p.add_argument("--data-dir", type=existing_folder, default=None, help="data folder (for alpaca_eval/df_gamed.csv, the LC GLM's instruction difficulty)")
    p.add_argument("--json", action="store_true", help="print every computed column as JSON")
    p.set_defaults(func=main)


def main(args) -> int:
    from bench.commands.alpaca_eval_winrate import run  # deferred: alpaca_eval's metrics import pandas, SciPy and torch (seconds)

    return run(args)
