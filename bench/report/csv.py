"""The comparison table as CSV for machines: raw numbers at full precision.

One row per table row (student, method). For each metric column: the mean over seeds, the 95% interval's low and
high, n (items per model), and, when any row has several seeds, the sample std over seeds and the seeds' values; then
the significance marks and, per baseline (S: SFT, D: DPO, R: reference teacher), the paired test's raw and
Holm-adjusted p (the family: the column's comparisons, bench.results.compare). A value that was not measured is an empty cell, and the last column, ``missing``, says why for every such cell
of the row (``label: reason``, joined by `` | ``). A column scored by an LLM judge also has ``<label> judge_validated``
(true / false, bench.judges.validation; false: no marks). No bold here: "best" is a presentation choice of the other views.
"""
from __future__ import annotations

import csv
import io

from .cells import Table


def render_csv(table: Table) -> str:
    head = ["student", "method", "seeds"]
    letters = [m for m in ("S", "D", "R") if any(m in c.tests for b in table.blocks for r in b.rows for c in r.cells)]
    for column in table.columns:
        name = column.label
        head += [name, f"{name} ci_low", f"{name} ci_high"] + ([f"{name} std", f"{name} seed values"] if table.any_std else [])
        head += [f"{name} marks"] + [f"{name} {kind} vs {m}" for m in letters for kind in ("p", "p_holm")]
        if column.judge_validated is not None:
            head.append(f"{name} judge_validated")
    head.append("missing")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(head)
    for block in table.blocks:
        for row in block.rows:
            out: list = [block.student, row.method, ";".join(map(str, row.seeds))]
            reasons = []
            for cell, column in zip(row.cells, table.columns):
                ci = cell.interval
                out += ["" if cell.mean is None else repr(cell.mean), "" if ci is None else repr(ci.low), "" if ci is None else repr(ci.high)]
                if table.any_std:
                    out += ["" if cell.std is None else repr(cell.std), ";".join(map(repr, cell.values))]
                out.append(" ".join(cell.marks))
                for m in letters:
                    raw, adjusted = cell.tests.get(m, (None, None))
                    out += ["" if raw is None else repr(raw), "" if adjusted is None else repr(adjusted)]
                if column.judge_validated is not None:
                    out.append("true" if column.judge_validated else "false")
                reasons += [f"{column.label}: {table.footnotes[n - 1]}" for n in cell.footnotes]
            out.append(" | ".join(reasons))
            writer.writerow(out)
    return buffer.getvalue()
