"""The comparison table as GitHub-flavoured Markdown: value [95% interval], significance marks, dashes with numbered
notes, bold only for a best that is significantly better than the runner-up."""
from __future__ import annotations

import re

from .cells import Table, cell_text
from .marks import legend

DASH = "–"
GREY_HEADER = " (judge not validated)"


def escape(text: str) -> str:
    """Model, judge and data names are data, not markup: backslash-escape Markdown's active characters."""
    text = re.sub(r"([\\`*\[\]<>|#~])", r"\\\1", str(text))
    text = re.sub(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])", r"\\_", text)  # intra-word _ is literal in GFM
    return text.replace("\n", " ")


def markers(numbers: list[int]) -> str:
    return f"[{','.join(map(str, numbers))}]" if numbers else ""


def render_markdown(table: Table, title: str | None = None) -> str:
    head = ["Student", "Method", "Seeds"] + [f"{escape(c.label)}{GREY_HEADER if c.judge_validated is False else ''}"
                                             f"{markers([c.footnote] if c.footnote else [])}" for c in table.columns]
    lines = [f"# {escape(title)}", ""] if title else []
    lines += ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * 3 + ["--:"] * len(table.columns)) + "|"]
    for block in table.blocks:
        for i, row in enumerate(block.rows):
            cells = []
            for cell, column in zip(row.cells, table.columns):
                text = DASH if cell.missing else cell_text(cell, column)
                if cell.best:
                    text = f"**{text}**"
                if column.judge_validated is False and not cell.missing:
                    text = f'<span style="color:gray">{text}</span>'  # greyed: its judge is not validated
                cells.append(" ".join([text, *cell.marks]) + markers(cell.footnotes))
            student = escape(block.student) if i == 0 else ""
            lines.append("| " + " | ".join([student, escape(row.label), str(len(row.seeds))] + cells) + " |")
    lines += ["", legend(table) + "  "]
    lines += [line + "  " for line in table.notes]  # two trailing spaces: a Markdown line break
    lines += [f"[{number}] {escape(text)}  " for number, text in enumerate(table.footnotes, 1)]
    return "\n".join(lines).rstrip() + "\n"
