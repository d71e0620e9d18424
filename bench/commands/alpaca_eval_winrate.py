"""`bench alpaca-eval-winrate ANNOTATIONS.json`: re-score an alpaca_eval annotations file.

Prints the leaderboard columns computed by alpaca_eval's metric functions (see bench.evals.alpaca_metrics):
win_rate, standard_error, n_wins, n_draws, n_total, length_controlled_winrate.
"""
from __future__ import annotations

import json
from pathlib import Path

COLUMNS = ("win_rate", "standard_error", "n_wins", "n_draws", "n_total", "length_controlled_winrate")


def register(sub) -> None:
    p = sub.add_parser("alpaca-eval-winrate", help="re-score an alpaca_eval annotations file (win rate, LC win rate)")
    p.add_argument("annotations", type=Path, help="alpaca_eval annotations JSON (a list of records with 'preference')")
    p.add_argument("--data-dir", type=Path, default=None, help="data folder (for alpaca_eval/df_gamed.csv, the LC GLM's instruction difficulty)")
    p.add_argument("--json", action="store_true", help="print every computed column as JSON")
    p.set_defaults(func=run)


def load_annotations(path: Path) -> list[dict]:
    if not path.is_file():
        raise SystemExit(f"{path}: no such file")
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise SystemExit(f"{path}: not JSON ({err})") from None
    if not isinstance(rows, list) or not rows:
        raise SystemExit(f"{path}: expected a non-empty list of annotation records")
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or "preference" not in row:
            raise SystemExit(f"{path}: record {i}: field 'preference' is missing")
    return rows


def run(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from bench.evals.alpaca_metrics import leaderboard_metrics

    metrics = leaderboard_metrics(load_annotations(args.annotations), args.data_dir)
    if args.json:
        print(json.dumps(metrics, indent=2))
        return 0
    table = Table(title=f"AlpacaEval: {args.annotations}")
    for column in COLUMNS:
        table.add_column(column, justify="right")

    def fmt(v):
        return "-" if v is None else (f"{v:.2f}" if isinstance(v, float) else str(v))

    table.add_row(*(fmt(metrics[c]) for c in COLUMNS))
    console = Console()
    console.print(table)
    if metrics.get("lc_note"):
        console.print(f"length_controlled_winrate: {metrics['lc_note']}")
    return 0
