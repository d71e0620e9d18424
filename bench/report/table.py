"""The comparison table (the paper's Table 2) as a model every view renders: blocks, rows, columns, cells, notes.

Rules:
- One block per student, in order of first appearance: the teacher rows of the student's teacher (``ref_teacher``,
  ``dpo_teacher``), then the methods in registry order (methods.registry). Teacher rows are found through the entry
  field ``teacher``; when nothing links them and the results hold exactly one teacher, its rows join every block.
- Only entries of the main study form rows; sweep runs (``"study": "figure5"``) feed the plots only.
- A cell is the value with its 95% interval (from the metric's per-item scores; with several seeds, the mean over
  seeds ± their sample std, and the interval pooled over every seed's items). ``Seeds`` counts seeds.
- Marks: ▲S / ▼S when the paired difference to the SFT student on the same items has a 95% interval that excludes
  0 (better / worse), ▲D / ▼D likewise against the DPO student (bench.results.compare).
- Bold: the best student method of a block, only when it is significantly better than the runner-up (paired, same
  items); never a tie or a difference the run cannot tell from noise.
- A value that was not measured is a dash with the reason in a numbered note, never 0.
- Each column has one note saying what it is: data, judge and the judge's measured agreement, n, interval method; and
  the table says per column the smallest difference the run could detect (bench.stats.detectable_difference).
"""
from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field

from bench import stats
from bench.results import MAIN_STUDY, TEACHER_ROWS, Entry, Interval, Results, ResultsError, known_methods
from bench.results.compare import BASELINES, compare_groups

from bench.judges.validation import strip_unvalidated

from .columns import Column, choose_columns

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


# ----------------------------------------------------------------------------------------------------------- cells
def _pooled_interval(entries: list[Entry], column: Column) -> Interval | None:
    """One seed: the metric's own interval. Several: the interval of every seed's items pooled."""
    rows = [m for e in entries if (m := e.metric(column.benchmark, column.metric)) is not None and m.value is not None]
    if len(rows) == 1:
        return rows[0].interval
    if rows and all(m.item_scores for m in rows) and len({m.score_kind for m in rows}) == 1:
        pooled = [v for m in rows for v in m.item_scores.values()]
        interval = stats.interval(pooled, rows[0].score_kind)
        return Interval(interval.low, interval.high, f"{interval.method}, pooled over {len(rows)} seeds")
    return None


def _cell(entries: list[Entry], column: Column, notes: _Footnotes) -> Cell:
    values, reasons, remarks = [], [], []
    for entry in entries:
        metric = entry.metric(column.benchmark, column.metric)
        if metric is None:
            reasons.append(NOT_EVALUATED)
        elif metric.value is None:
            reasons.append(metric.missing_reason or "not measured")
        else:
            values.append(metric.value)
            remarks += _remarks(metric.details)
    reasons = list(dict.fromkeys(reasons))
    if not values:
        return Cell(None, None, 0, len(entries), [], None, [notes.number(r) for r in reasons])
    footnotes = [notes.number(r) for r in dict.fromkeys(remarks)]
    if reasons:  # some seeds measured it, some did not: the mean covers only the ones that did
        footnotes.append(notes.number(f"{len(entries) - len(values)} of {len(entries)} seeds not measured "
                                      f"({'; '.join(reasons)}); the value is over the other {len(values)}"))
    mean, std = stats.mean_std(values)
    return Cell(mean, std, len(values), len(entries), values, _pooled_interval(entries, column), footnotes)


def _remarks(details: dict) -> list[str]:
    """What an evaluator says qualifies a measured value: a note, or an average over only some of its parts."""
    out = [str(details["note"])] if details.get("note") else []
    if details.get("complete") is False and details.get("over") is not None:
        missing = details.get("missing") or []
        out.append(f"average over {', '.join(map(str, details['over']))} only"
                   + (f" ({', '.join(map(str, missing))} not measured)" if missing else ""))
    return out


# ------------------------------------------------------------------------------------------------ significance
def _better(difference: float, column: Column) -> bool:
    return difference > 0 if column.higher_is_better else difference < 0


def _mark_baselines(block: Block, columns: list[Column]) -> None:
    """▲/▼ against the SFT and DPO students of the block where the paired 95% interval excludes 0; the DPO teacher
    against the reference teacher (the signal ADPA distils)."""
    students = {row.method: row for row in block.rows if row.method in BASELINES}
    reference = [row for row in block.rows if row.method == "ref_teacher"]
    for row in block.rows:
        baselines = {"ref_teacher": reference[0]} if row.method == "dpo_teacher" and reference else \
            ({} if row.is_teacher else students)
        for index, column in enumerate(columns):
            for name, base in baselines.items():
                if base is row or row.cells[index].missing or base.cells[index].missing:
                    continue
                paired = compare_groups(row.entries, base.entries, column.benchmark, column.metric)
                if paired is not None and paired.significant:
                    row.cells[index].marks.append(("▲" if _better(paired.difference, column) else "▼") + MARKS[name])


def _mark_best(block: Block, columns: list[Column]) -> None:
    """Bold the best student row only when a paired test on the same items says it beats the runner-up."""
    candidates = [row for row in block.rows if not row.is_teacher]
    for index, column in enumerate(columns):
        measured = [row for row in candidates if row.cells[index].mean is not None]
        if len(measured) < 2:
            continue
        ranked = sorted(measured, key=lambda r: r.cells[index].mean, reverse=column.higher_is_better)
        best, runner_up = ranked[0], ranked[1]
        if best.cells[index].mean == runner_up.cells[index].mean:
            continue
        paired = compare_groups(best.entries, runner_up.entries, column.benchmark, column.metric)
        if paired is not None and paired.significant and _better(paired.difference, column):
            best.cells[index].best = True


def _detectable(blocks: list[Block], column: Column, index: int) -> tuple[float, int, str] | None:
    """The smallest difference a paired comparison in this run detects (80% power, two-sided 0.05): from the
    observed spread of per-item differences between students, else (one student) from the item scores' spread."""
    rows = [r for b in blocks for r in b.rows if not r.is_teacher and not r.cells[index].missing]
    sds, ns = [], []
    for a in rows:
        for b in rows:
            if a is not b and b.method in BASELINES:
                paired = compare_groups(a.entries, b.entries, column.benchmark, column.metric)
                if paired is not None:
                    sds.append(paired.sd_difference)
                    ns.append(paired.n)
    identical = bool(sds) and statistics.median(sds) == 0
    if sds and not identical:
        n = int(statistics.median(ns))
        value = stats.detectable_difference(statistics.median(sds), n)
        return (value, n, "paired, median spread of per-item differences") if value is not None else None
    # No spread of differences (e.g. a judge that gives every model the same verdicts) says nothing about what the
    # run could detect: the items' own spread does.
    how = ("the students were scored identically on every item: unpaired estimate from the item scores' spread"
           if identical else "unpaired estimate from the item scores' spread")
    scores = [v for r in rows for e in r.entries if (m := e.metric(column.benchmark, column.metric)) and m.item_scores
              for v in m.item_scores.values()]
    per_model = max((m.n_items for r in rows for e in r.entries if (m := e.metric(column.benchmark, column.metric))), default=0)
    if len(scores) > 2 and per_model > 1:
        value = stats.detectable_difference(statistics.stdev(scores) * 2 ** 0.5, per_model)
        return (value, per_model, how) if value is not None and value > 0 else None
    return None


# ------------------------------------------------------------------------------------------------------- building
def _check_same_setting(group: list[Entry]) -> None:
    """Seeds of one row must share hyper-parameters; a sweep mixed in would be averaged as if it were seeds."""
    def setting(e: Entry) -> str:
        return json.dumps({k: v for k, v in e.hyperparameters.items() if k != "seed"}, sort_keys=True, default=str)

    first = group[0]
    for other in group[1:]:
        if setting(other) != setting(first):
            keys = sorted(k for k in set(first.hyperparameters) | set(other.hyperparameters)
                          if k != "seed" and first.hyperparameters.get(k) != other.hyperparameters.get(k))
            raise ResultsError(
                f"table row (student {first.student!r}, method {first.method!r}) mixes hyperparameter settings "
                f"({', '.join(keys)} differ between seed {first.seed} in {first.source} and seed {other.seed} in "
                f"{other.source}); mark sweep runs with \"study\": \"figure5\" so only the plots use them")


def _groups(results: Results) -> dict[tuple[str, str], list[Entry]]:
    entries = [e for e in results.entries if e.study == MAIN_STUDY]
    if not entries:
        raise ResultsError("no table rows: every entry belongs to a sweep study (none has study 'main')")
    groups: dict[tuple[str, str], list[Entry]] = {}
    for entry in entries:
        groups.setdefault((entry.student, entry.method), []).append(entry)
    for group in groups.values():
        _check_same_setting(group)
        group.sort(key=lambda e: e.seed)
    return groups


def _block_rows(student: str, teacher: str | None, groups, make_row) -> tuple[list[Row], bool]:
    rows, used_teacher = [], False
    for method in known_methods():
        if method in TEACHER_ROWS:  # a teacher row filed under the student itself, else the linked teacher's own
            group = groups.get((student, method)) or (groups.get((teacher, method)) if teacher else None)
            used_teacher = used_teacher or bool(group and group[0].student == teacher)
        else:
            group = groups.get((student, method))
        if group:
            rows.append(make_row(student, group, teacher))
    return rows, used_teacher


def _blocks(groups, make_row) -> list[Block]:
    entries = [e for g in groups.values() for e in g]
    students = list(dict.fromkeys(e.student for e in entries if not e.is_teacher))
    teacher_groups = list(dict.fromkeys(e.student for e in entries if e.is_teacher))
    only_teacher = teacher_groups[0] if len(teacher_groups) == 1 else None
    used: set[str] = set()
    blocks = []
    for student in students:
        linked = list(dict.fromkeys(a for e in entries if e.student == student and not e.is_teacher and (a := e.teacher_alias)))
        if len(linked) > 1:
            raise ResultsError(f"student {student!r}: entries name different teachers ({', '.join(linked)})")
        teacher = linked[0] if linked else only_teacher
        rows, used_teacher = _block_rows(student, teacher, groups, make_row)
        if used_teacher:
            used.add(teacher)
        blocks.append(Block(student, teacher, rows))
    for teacher in teacher_groups:  # teachers no student links to get a block of their own
        if teacher not in used and teacher not in students:
            blocks.append(Block(teacher, teacher, [make_row(teacher, groups[(teacher, m)]) for m in TEACHER_ROWS if (teacher, m) in groups]))
    return blocks


def build_table(results: Results, which: str = "main") -> Table:
    """``which``: "main" (the headline columns), "other" (every other metric) or "all" (both, for the CSV)."""
    if which not in ("main", "other", "all"):
        raise ValueError(f"which must be main, other or all, not {which!r}")
    groups = _groups(results)
    columns, notes = choose_columns([e for g in groups.values() for e in g], which)
    footnotes = _Footnotes()
    for column in columns:
        column.footnote = footnotes.number(column.describe())

    def make_row(block_student: str, group: list[Entry], teacher: str | None = None) -> Row:
        first = group[0]
        label = known_methods()[first.method]
        alias = first.teacher or (first.student if first.student != block_student else teacher)
        if first.is_teacher and alias:
            label = f"{label}: {alias}"
        return Row(block_student, first.method, label, first.model, [e.seed for e in group],
                   [_cell(group, column, footnotes) for column in columns], group)

    blocks = _blocks(groups, make_row)
    for block in blocks:
        _mark_baselines(block, columns)
        _mark_best(block, columns)
    strip_unvalidated(blocks, columns)  # a judge that is not validated marks nothing (bench.judges.validation)
    for index, column in enumerate(columns):
        column.detectable = _detectable(blocks, column, index)
    return Table(results.profile, columns, blocks, footnotes.texts, notes + _detectable_note(columns))


def _detectable_note(columns: list[Column]) -> list[str]:
    parts = [f"{c.label} {format_number(c.detectable[0], c.decimals)} (n = {c.detectable[1]}"
             + ("" if c.detectable[2].startswith("paired") else f"; {c.detectable[2]}") + ")" for c in columns if c.detectable]
    if not parts:
        return []
    return ["Smallest difference this run can detect between two students (paired, 80% power, two-sided α = 0.05): "
            + "; ".join(parts) + "."]


def legend(table: Table) -> str:
    text = ("Value [95% interval]" + ("; mean ± sample std over seeds, interval pooled over seeds" if table.any_std else "")
            + ". ▲S / ▼S: significantly better / worse than the SFT student on the same items (paired 95% interval of "
              "the difference excludes 0); ▲D / ▼D: the same against the DPO student; ▲R / ▼R: the DPO teacher against "
              "the reference teacher. Bold: the best student method, "
              "only where it is significantly better than the runner-up. –: not measured (see the notes). "
              "Column notes say what each number is.")
    return text
