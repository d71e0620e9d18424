"""The table's model, what every view renders: cells, rows, blocks, the table, and how a cell reads as text."""
from __future__ import annotations

from dataclasses import dataclass, field

from bench.results import TEACHER_ROWS, Entry, Interval

from .columns import Column

NOT_EVALUATED = "not evaluated for this model"
MARKS = {"sft": "S", "dpo": "D", "ref_teacher": "R"}


@dataclass
class Cell:
    mean: float | None
    std: float | None  # across seeds; None for a single seed
    n_seeds: int  # seeds that measured the value
    n_total: int  # seeds in the row
    values: list[float]
    interval: Interval | None = None
    footnotes: list[int] = field(default_factory=list)
    marks: list[str] = field(default_factory=list)  # e.g. "▲S": significantly better than the SFT student
    # baseline letter -> (raw p, Holm-adjusted p) of the paired test behind the mark (None: too few items)
    tests: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    best: bool = False

    @property
    def missing(self) -> bool:
        return self.mean is None


@dataclass
class Row:
    student: str  # the block's student (teacher rows too)
    method: str
    label: str
    model: str
    seeds: list[int]
    cells: list[Cell]
    entries: list[Entry] = field(default_factory=list, repr=False)

    @property
    def is_teacher(self) -> bool:
        return self.method in TEACHER_ROWS


@dataclass
class Block:
    student: str
    teacher: str | None
    rows: list[Row]


@dataclass
class Table:
    profile: str
    columns: list[Column]
    blocks: list[Block]
    footnotes: list[str]  # footnote i+1 is footnotes[i]
    notes: list[str]  # table-wide remarks

    @property
    def any_std(self) -> bool:
        return any(cell.std is not None for block in self.blocks for row in block.rows for cell in row.cells)


# --------------------------------------------------------------------------------------------------------- numbers
def format_number(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    return "0" + text[2:] if text.startswith("-0") and float(text) == 0 else text  # no "-0.00"


def cell_text(cell: Cell, column: Column, pm: str = "±") -> str:
    """Value (± std over seeds) [95% interval] at the column's precision; '' when missing (views draw a dash)."""
    if cell.mean is None:
        return ""
    text = format_number(cell.mean, column.decimals)
    if cell.std is not None:
        text += f" {pm} {format_number(cell.std, column.decimals)}"
    if cell.interval is not None:
        text += f" [{format_number(cell.interval.low, column.decimals)}, {format_number(cell.interval.high, column.decimals)}]"
    return text


class _Footnotes:
    def __init__(self):
        self.texts: list[str] = []

    def number(self, text: str) -> int:
        if text not in self.texts:
            self.texts.append(text)
        return self.texts.index(text) + 1
