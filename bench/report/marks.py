"""Significance on the table: the ▲/▼ marks against the baselines, bold for a best method, the detectable difference,
and the legend and notes that say what they mean (the tests themselves: bench.results.compare; docs/statistics.md)."""
from __future__ import annotations

import statistics

from bench import stats
from bench.results.compare import BASELINES, Comparison, compare_groups, lookup, seed_averaged

from .cells import MARKS, Block, Table, _Footnotes, format_number
from .columns import Column

# ------------------------------------------------------------------------------------------------ significance
def _better(difference: float, column: Column) -> bool:
    return difference > 0 if column.higher_is_better else difference < 0


TOO_FEW_NOTE = f"too few paired items for a test at 5% (fewer than {stats.MIN_PAIRED}): no mark"


def _mark_baselines(block: Block, columns: list[Column], found: list[Comparison], notes: _Footnotes) -> None:
    """▲/▼ against the SFT and DPO students of the block where the paired test rejects after Holm's correction; the
    DPO teacher against the reference teacher (the signal ADPA distils)."""
    students = {row.method: row for row in block.rows if row.method in BASELINES}
    reference = [row for row in block.rows if row.method == "ref_teacher"]
    for row in block.rows:
        baselines = {"ref_teacher": reference[0]} if row.method == "dpo_teacher" and reference else \
            ({} if row.is_teacher else students)
        for index, column in enumerate(columns):
            for name, base in baselines.items():
                if base is row or row.cells[index].missing or base.cells[index].missing:
                    continue
                hit = lookup(found, row.entries[0].student, row.method, base.method, column.benchmark, column.metric)
                if hit is None:
                    continue
                comparison, sign = hit
                row.cells[index].tests[MARKS[name]] = (comparison.result.p_value, comparison.p_holm)
                if comparison.result.too_few:
                    row.cells[index].footnotes.append(notes.number(TOO_FEW_NOTE))
                elif comparison.significant:
                    better = _better(sign * comparison.result.difference, column)
                    row.cells[index].marks.append(("▲" if better else "▼") + MARKS[name])


def _mark_best(block: Block, columns: list[Column], found: list[Comparison]) -> None:
    """Bold the best student row only when the corrected paired test on the same items says it beats the runner-up."""
    candidates = [row for row in block.rows if not row.is_teacher]
    for index, column in enumerate(columns):
        measured = [row for row in candidates if row.cells[index].mean is not None]
        if len(measured) < 2:
            continue
        ranked = sorted(measured, key=lambda r: r.cells[index].mean, reverse=column.higher_is_better)
        best, runner_up = ranked[0], ranked[1]
        if best.cells[index].mean == runner_up.cells[index].mean:
            continue
        hit = lookup(found, best.entries[0].student, best.method, runner_up.method, column.benchmark, column.metric)
        if hit is not None and hit[0].significant and _better(hit[1] * hit[0].result.difference, column):
            best.cells[index].best = True


def _detectable(block: Block, column: Column, index: int) -> tuple[float, int, str] | None:
    """The smallest difference a paired comparison between this block's students detects (80% power, two-sided
    0.05, before Holm's correction): from the spread of per-item differences between its students and its SFT / DPO
    students (median over those pairs), else (one student, or identical scores) from the item scores' spread. Within
    one block: differences between students of different sizes say nothing about either."""
    rows = [r for r in block.rows if not r.is_teacher and not r.cells[index].missing]
    sds, ns, clustered = [], [], False
    for a in rows:
        for b in rows:
            if a is not b and b.method in BASELINES:
                paired = compare_groups(a.entries, b.entries, column.benchmark, column.metric)
                if paired is not None and not paired.too_few:
                    # the test's unit: the item, or the prompt when items share one (its mean difference)
                    sds.append(paired.sd_units)
                    ns.append(paired.units)
                    clustered = clustered or paired.units < paired.n
    identical = bool(sds) and statistics.median(sds) == 0
    if sds and not identical:
        n = int(statistics.median(ns))
        value = stats.detectable_difference(statistics.median(sds), n)
        how = ("paired, median spread of per-prompt mean differences; n counts prompts" if clustered
               else "paired, median spread of per-item differences")
        return (value, n, how) if value is not None else None
    # No spread of differences (e.g. a judge that gives every model the same verdicts) says nothing about what the
    # run could detect: the items' own spread does.
    how = ("the students were scored identically on every item: unpaired estimate from the item scores' spread"
           if identical else "unpaired estimate from the item scores' spread")
    scores = [v for r in rows for v in seed_averaged(r.entries, column.benchmark, column.metric)[0].values()]
    per_model = max((len(seed_averaged(r.entries, column.benchmark, column.metric)[0]) for r in rows), default=0)
    if len(scores) > 2 and per_model > 1 and statistics.stdev(scores) > 0:
        value = stats.detectable_difference(statistics.stdev(scores) * 2 ** 0.5, per_model)
        return (value, per_model, how) if value is not None and value > 0 else None
    return None




def _detectable_note(columns: list[Column], several_blocks: bool) -> list[str]:
    parts = []
    for c in columns:
        for student, (value, n, how) in c.detectable or []:
            where = f"{student}: " if several_blocks else ""
            parts.append(f"{c.label} {where}{format_number(value, c.decimals)} (n = {n}"
                         + ("" if how.startswith("paired, median spread of per-item") else f"; {how}") + ")")
    if not parts:
        return []
    return ["Smallest difference this run can detect between two students of one block (paired, 80% power, "
            "two-sided α = 0.05 before Holm's correction): " + "; ".join(parts) + "."]


def _seed_note(multi_seed: bool) -> list[str]:
    if not multi_seed:
        return []
    return ["Several seeds: each item's score is averaged over a row's seeds first, and intervals and tests are over "
            "items (n = items, not seeds x items); ± is the sample std of the seeds' values (listed in the CSV), "
            "the seed-to-seed spread, reported beside the test and not part of it."]


def legend(table: Table) -> str:
    families = sorted({c.family for c in table.columns if c.family})
    size = (f"the {families[0]}" if len(families) == 1 else f"the {families[0]}-{families[-1]}") if families else "the"
    text = ("Value [95% interval]" + ("; mean ± sample std over seeds, interval over items averaged over seeds"
                                      if table.any_std else "")
            + ". ▲S / ▼S: significantly better / worse than the SFT student on the same items; ▲D / ▼D: the same "
              "against the DPO student; ▲R / ▼R: the DPO teacher against the reference teacher. Bold: the best "
              "student method, only where it is significantly better than the runner-up. Significant: paired test "
              "(sign-flip permutation test of the mean difference; McNemar's exact test for pass/fail items) with "
              f"Holm's step-down correction over each column's comparisons (family: {size} comparisons of one "
              "column across all blocks), family-wise level 0.05; p-values raw and adjusted in the CSV and JSON. "
              "–: not measured (see the notes). Column notes say what each number is.")
    return text
