"""The comparison table (the paper's Table 2) as a model every view renders: blocks, rows, columns, cells, notes.

Rules:
- One block per student, in order of first appearance: the teacher rows of the student's teacher (``ref_teacher``,
  ``dpo_teacher``), then the methods in registry order (methods.registry). Teacher rows are found through the entry
  field ``teacher``; when nothing links them and the results hold exactly one teacher, its rows join every block.
- Only entries of the main study form rows; sweep runs (``"study": "figure5"``) feed the plots only.
- A cell is the value with its 95% interval (from the metric's per-item scores; with several seeds, the mean over
  seeds ± the sample std of the seeds' values, and the interval of the mean of the items averaged over the seeds:
  the unit is the item, not seed x item). ``Seeds`` counts seeds.
- Marks: ▲S / ▼S when the paired test against the SFT student on the same items rejects at 5% after Holm's
  correction over the column's comparisons (better / worse), ▲D / ▼D likewise against the DPO student, ▲R / ▼R the
  DPO teacher against the reference teacher (bench.results.compare; docs/statistics.md). A comparison on fewer
  items than any test at 5% needs gets a note "too few items", never a mark.
- Bold: the best student method of a block, only when the same corrected test says it beats the runner-up; never a
  tie or a difference the run cannot tell from noise.
- A value that was not measured is a dash with the reason in a numbered note, never 0.
- Each column has one note saying what it is: data, judge and the judge's measured agreement, n, interval method; and
  the table says per column the smallest difference the run could detect (bench.stats.detectable_difference).
"""
from __future__ import annotations

import json

from bench import stats
from bench.results import MAIN_STUDY, TEACHER_ROWS, Entry, Interval, Results, ResultsError, known_methods
from bench.results.compare import clusters, comparisons, seed_averaged

from bench.judges.validation import strip_unvalidated

from .cells import NOT_EVALUATED, Block, Cell, Row, Table, _Footnotes
from .columns import Column, choose_columns
from .marks import _detectable, _detectable_note, _mark_baselines, _mark_best, _seed_note

# ----------------------------------------------------------------------------------------------------------- cells
def _seed_interval(entries: list[Entry], column: Column) -> Interval | None:
    """One seed: the metric's own interval. Several: the interval of the mean of the items, each item's score
    averaged over the seeds first (items are the unit, not seed x item; pass/fail items averaged over seeds are no
    longer 0/1, so they get the bootstrap)."""
    rows = [m for e in entries if (m := e.metric(column.benchmark, column.metric)) is not None and m.value is not None]
    if len(rows) == 1:
        return rows[0].interval
    if rows and all(m.item_scores for m in rows) and len({m.score_kind for m in rows}) == 1:
        items, kind = seed_averaged(entries, column.benchmark, column.metric)
        values = list(items.values())
        kind = kind if kind != "binary" or stats.is_binary(values) else "continuous"
        interval = stats.interval(values, kind, _cluster_list(column, items))
        if interval is None:
            return None
        return Interval(interval.low, interval.high, f"{interval.method}, items averaged over {len(rows)} seeds")
    return None


def _cluster_list(column: Column, items: dict[str, float]) -> list[str] | None:
    found = clusters(column.benchmark, column.metric, items)
    return [found[i] for i in items] if found else None


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
    return Cell(mean, std, len(values), len(entries), values, _seed_interval(entries, column), footnotes)


def _remarks(details: dict) -> list[str]:
    """What an evaluator says qualifies a measured value: a note, or an average over only some of its parts."""
    out = [str(details["note"])] if details.get("note") else []
    if details.get("complete") is False and details.get("over") is not None:
        missing = details.get("missing") or []
        out.append(f"average over {', '.join(map(str, details['over']))} only"
                   + (f" ({', '.join(map(str, missing))} not measured)" if missing else ""))
    return out



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
    found = comparisons([e for g in groups.values() for e in g])
    for block in blocks:
        _mark_baselines(block, columns, found, footnotes)
        _mark_best(block, columns, found)
    strip_unvalidated(blocks, columns)  # a judge that is not validated marks nothing (bench.judges.validation)
    for index, column in enumerate(columns):
        column.detectable = [(block.student, found_) for block in blocks
                             if (found_ := _detectable(block, column, index)) is not None]
        column.family = max((c.family_size for c in found if c.key == column.key), default=0)
    multi_seed = any(len(row.seeds) > 1 for block in blocks for row in block.rows)
    return Table(results.profile, columns, blocks, footnotes.texts,
                 notes + _detectable_note(columns, len(blocks) > 1) + _seed_note(multi_seed))
