"""`bench alpaca-eval-winrate`: re-score an alpaca_eval annotations file with alpaca_eval's own metric functions
(arguments: bench/arguments/alpaca_eval_winrate.py)."""
from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.datasets import DataFileError
from bench.evals.alpaca_metrics import leaderboard_metrics
from bench.io import json_text
from bench.results import finite_or_none

COLUMNS = ("win_rate", "standard_error", "n_wins", "n_draws", "n_total", "length_controlled_winrate")


def load_annotations(path: Path) -> list[dict]:
    """The annotation records, each with a preference that alpaca_eval can score; anything else is a DataFileError
    naming the file and the record."""
    if not path.is_file():
        raise DataFileError(f"{path}: no such file")
    raw = path.read_bytes()
    try:
        rows = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise DataFileError(f"{path}: line {line}: not UTF-8 text (byte 0x{raw[err.start]:02x}); save it as UTF-8") from None
    except json.JSONDecodeError as err:
        raise DataFileError(f"{path}: not JSON ({err.msg} at line {err.lineno} column {err.colno})") from None
    except ValueError as err:
        raise DataFileError(f"{path}: not strict JSON ({err})") from None
    if not isinstance(rows, list) or not rows:
        raise DataFileError(f"{path}: expected a non-empty list of annotation records")
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or "preference" not in row:
            raise DataFileError(f"{path}: record {i}: field 'preference' is missing")
        _check_preference(row["preference"], path, i)
    if all(row["preference"] is None for row in rows):
        raise DataFileError(f"{path}: every one of the {len(rows)} records has preference null (not annotated): "
                            "there is no win rate to compute; re-run the annotator")
    return rows


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON value")


def _check_preference(value, path: Path, index: int) -> None:
    """alpaca_eval's encoding: 1 = the reference (output_1) is better, 2 = the model (output_2), values in between
    are soft preferences, 1.5 or 0 a tie, null not annotated. alpaca_eval silently drops anything else from every
    count; here it is refused."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (value == 0 or 1 <= value <= 2):
        raise DataFileError(f"{path}: record {index}: field 'preference': {value!r} is not on alpaca_eval's scale "
                            "(1: reference better, 2: model better, values between: soft, 1.5 or 0: tie, null: not annotated)")


def run(args) -> int:
    # A standard error of one annotated record is NaN: shown as "-" and written as null, never as bare NaN.
    metrics = finite_or_none(leaderboard_metrics(load_annotations(args.annotations), args.data_dir))
    if args.json:
        print(json_text(metrics), end="")
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
