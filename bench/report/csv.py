"""The comparison table as CSV for machines: raw numbers at full precision.

Layout: one row per table row (student, method). For each metric column a value column named by the same header as
the other views (label, data set, judge) holding the mean over seeds; when any row has several seeds, a following
``... std`` column (sample std, empty for one seed). A value that was not measured is an empty cell, and the last
column, ``missing``, says why for every such cell of the row (``label: reason``, joined by `` | ``); it also notes
rows whose mean covers only some seeds. No bold here: "best" is a presentation choice of the other views.
"""
from __future__ import annotations

import csv
import io

from .table import Table


def render_csv(table: Table) -> str:
    head = ["student", "method", "model", "seeds"]
    for column in table.columns:
        name = f"{column.label} · {column.source_text}"
        head += [name, f"{name} std"] if table.any_std else [name]
    head.append("missing")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(head)
    for block in table.blocks:
        for row in block.rows:
            out: list = [block.student, row.method, row.model, ";".join(map(str, row.seeds))]
            reasons = []
            for cell, column in zip(row.cells, table.columns):
                out.append("" if cell.mean is None else repr(cell.mean))
                if table.any_std:
                    out.append("" if cell.std is None else repr(cell.std))
                reasons += [f"{column.label}: {table.footnotes[n - 1]}" for n in cell.footnotes]
            out.append(" | ".join(reasons))
            writer.writerow(out)
    return buffer.getvalue()
