"""The comparison table as GitHub-flavoured Markdown: dashes with numbered footnotes, best values in bold."""
from __future__ import annotations

import re

from .table import Table, cell_text

DASH = "–"


def escape(text: str) -> str:
    """Model, judge and data names are data, not markup: backslash-escape Markdown's active characters."""
    text = re.sub(r"([\\`*\[\]<>|#~])", r"\\\1", str(text))
    text = re.sub(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])", r"\\_", text)  # intra-word _ is literal in GFM
    return text.replace("\n", " ")


def markers(numbers: list[int]) -> str:
    return f"[{','.join(map(str, numbers))}]" if numbers else ""


def legend(table: Table) -> list[str]:
    lines = ["Bold: best student method per block (teacher rows excluded). "
             + ("Values are mean ± sample std over seeds. " if table.any_std else "")
             + f"{DASH}: not measured (see the numbered notes)."]
    return lines + table.notes


def render_markdown(table: Table, title: str | None = None) -> str:
    head = ["Student", "Method", "Seeds"] + [f"{escape(c.label)} · {escape(c.source_text)}" for c in table.columns]
    lines = []
    if title:
        lines += [f"# {escape(title)}", ""]
    lines += ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * 3 + ["--:"] * len(table.columns)) + "|"]
    for block in table.blocks:
        for i, row in enumerate(block.rows):
            cells = []
            for cell, column in zip(row.cells, table.columns):
                text = DASH if cell.missing else cell_text(cell, column)
                if cell.best:
                    text = f"**{text}**"
                cells.append(text + markers(cell.footnotes))
            student = escape(block.student) if i == 0 else ""
            seeds = ", ".join(map(str, row.seeds))
            lines.append("| " + " | ".join([student, escape(row.label), seeds] + cells) + " |")
    lines.append("")
    lines += [line + "  " for line in legend(table)]  # two trailing spaces: a Markdown line break
    for number, text in enumerate(table.footnotes, 1):
        lines.append(f"[{number}] {escape(text)}  ")
    return "\n".join(lines).rstrip() + "\n"
