"""Result rows (the JSON format documented in bench/perf/__init__.py), the printed table and the JSON file."""
from __future__ import annotations

import json
import operator
import os
from dataclasses import asdict, dataclass
from pathlib import Path

COMPARE = {"<=": operator.le, ">=": operator.ge}


@dataclass
class Row:
    name: str
    ours: float | None
    reference: float | None
    unit: str
    target: str | None = None  # "ratio <= 0.7" style: the ratio ours/reference compared with a bound
    detail: str = ""

    @property
    def ratio(self) -> float | None:
        if self.ours is None or self.reference in (None, 0):
            return None
        return self.ours / self.reference

    @property
    def met(self) -> bool | None:
        if self.target is None or self.ratio is None:
            return None
        _, op, bound = self.target.split()
        return COMPARE[op](self.ratio, float(bound))

    def to_dict(self) -> dict:
        return {**asdict(self), "ratio": self.ratio, "met": self.met}


def write_json(rows: list[Row], path: str | os.PathLike) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps([r.to_dict() for r in rows], indent=2) + "\n")
    os.replace(tmp, path)


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if value == 0 or 1e-3 <= abs(value) < 1e5:
        return f"{value:.4g}"
    return f"{value:.3e}"


def print_table(rows: list[Row], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    for col, justify in (("figure", "left"), ("ours", "right"), ("reference", "right"), ("ratio", "right"),
                         ("unit", "left"), ("target", "left"), ("met", "center")):
        table.add_column(col, justify=justify)
    for r in rows:
        met = {True: "yes", False: "NO", None: ""}[r.met]
        table.add_row(r.name, _fmt(r.ours), _fmt(r.reference), _fmt(r.ratio), r.unit, r.target or "", met)
    Console(width=160).print(table)
