"""Paired comparisons between the rows of one table block, and the family they are corrected in.

- Which: every main-study method against the SFT and DPO students of its block, the DPO teacher against the
  reference teacher, and the block's best student against its runner-up (what bold claims). A pair compared both
  ways (SFT against DPO, DPO against SFT) is one test, stored once.
- The unit: items. With several seeds, each item's score is first averaged over the row's seeds, then the two rows
  are paired on item id, so three seeds are not three times the evidence; the seeds' spread is reported beside
  it (``seed_differences``: the per-seed differences of the seeds both rows ran).
- Clusters: items that share a prompt (MT-Bench's two turns of one question, the verifier's constraints of one
  prompt) are tested and resampled by prompt (``CLUSTERED``).
- The family: Holm's step-down over every comparison of one metric (one table column) across all blocks; the
  adjusted p decides marks and bold (``p_holm`` < 0.05). Too-few-item comparisons cannot reject and are left out.
- One judge: rows whose metric was scored by different judges (another model, protocol or prompt: a results file
  that keeps rows evaluated before the judge changed) are not compared; a difference would be the judges'.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from bench import stats
from bench.judges.agreement import same_scoring_judge

from .entries import MAIN_STUDY, TEACHER_ROWS

if TYPE_CHECKING:
    from .entries import Entry

BASELINES = ("sft", "dpo")
BASELINE_ROLE, BEST_ROLE = "baseline", "best vs runner-up"


def _question(item: str) -> str:  # MT-Bench: "81/t2" -> question 81
    return item.split("/", 1)[0]


def _prompt(item: str) -> str:  # verifier instruction level: "<prompt id>/<constraint k>" -> the prompt
    return item.rsplit("/", 1)[0]


# (benchmark, metric) -> item id -> cluster, for metrics whose items share prompts
CLUSTERED: dict[tuple[str, str], Callable[[str], str]] = {
    ("mt_bench", "average"): _question,
    **{("gold", m): _prompt for m in ("inst_level_strict_acc", "inst_level_loose_acc", "instruction_strict",
                                      "instruction_loose")},
}


def clusters(benchmark: str, metric: str, ids) -> dict[str, str] | None:
    """item id -> cluster for a clustered metric; None where every item stands alone."""
    of = CLUSTERED.get((benchmark, metric))
    return {i: of(i) for i in ids} if of else None


def seed_averaged(entries: Sequence["Entry"], benchmark: str, metric: str) -> tuple[dict[str, float], str | None]:
    """item id -> the item's score averaged over the seeds that scored it; and the score kind."""
    sums: dict[str, list[float]] = {}
    kind = None
    for entry in entries:
        row = entry.metric(benchmark, metric)
        if row is None or row.item_scores is None or row.value is None:
            continue
        if kind is not None and row.score_kind != kind:
            return {}, None
        kind = row.score_kind
        for item, score in row.item_scores.items():
            sums.setdefault(item, []).append(score)
    return {item: float(np.mean(v)) for item, v in sums.items()}, kind


def distinct_judges(judges: Sequence) -> int:
    """How many different judges (as ``judged_alike`` tells them apart) the ``details["judge"]`` values hold."""
    seen: list = []
    for judge in judges:
        if not any(same_scoring_judge(judge, s) for s in seen):
            seen.append(judge)
    return len(seen)


def judged_alike(entries: Sequence["Entry"], benchmark: str, metric: str) -> bool:
    """Whether one judge (id and the settings that decide its verdicts) scored this metric in every entry."""
    judges = [row.details.get("judge") for e in entries if (row := e.metric(benchmark, metric)) is not None
              and row.value is not None]
    return distinct_judges(judges) <= 1


def compare_groups(method: Sequence["Entry"], baseline: Sequence["Entry"], benchmark: str, metric: str) -> stats.Paired | None:
    """method's seed-averaged items against baseline's on the shared item ids; None without shared items, or where
    the rows were scored by different judges."""
    if not judged_alike([*method, *baseline], benchmark, metric):
        return None
    a, kind = seed_averaged(method, benchmark, metric)
    b, kind_b = seed_averaged(baseline, benchmark, metric)
    if not a or not b or kind != kind_b:
        return None
    return stats.paired(a, b, kind, clusters(benchmark, metric, a))


def seed_differences(method: Sequence["Entry"], baseline: Sequence["Entry"], benchmark: str, metric: str) -> dict[int, float]:
    """seed -> method's value minus baseline's, for the seeds both rows measured (the seed-to-seed spread)."""
    def values(group):
        return {e.seed: m.value for e in group if (m := e.metric(benchmark, metric)) is not None and m.value is not None}

    a, b = values(method), values(baseline)
    return {seed: a[seed] - b[seed] for seed in sorted(set(a) & set(b))}


@dataclass
class Comparison:
    student: str
    method: str
    baseline: str
    benchmark: str
    metric: str
    seeds: list[int]  # seeds of the method row (its items averaged over them)
    baseline_seeds: list[int]
    # method minus baseline over the seed-averaged items, in the metric's units
    result: stats.Paired
    role: str = BASELINE_ROLE
    seed_differences: dict[int, float] = field(default_factory=dict)
    p_holm: float | None = None  # Holm-adjusted over the metric's family; None when too few items
    family_size: int = 0

    @property
    def key(self) -> str:
        return f"{self.benchmark}/{self.metric}"

    @property
    def significant(self) -> bool:
        """What the table marks: Holm-adjusted p < 0.05."""
        return self.p_holm is not None and self.p_holm < stats.ALPHA

    def to_dict(self) -> dict:
        r = self.result
        spread = list(self.seed_differences.values())
        return {"student": self.student, "method": self.method, "baseline": self.baseline, "role": self.role,
                "benchmark": self.benchmark, "metric": self.metric, "seeds": self.seeds,
                "baseline_seeds": self.baseline_seeds, "n": r.n, "units": r.units, "difference": r.difference,
                "interval": r.interval.to_dict() if r.interval else None, "p_value": r.p_value,
                "p_holm": self.p_holm, "family": f"Holm over the {self.family_size} comparisons of {self.benchmark}/"
                                                f"{self.metric}", "test": r.test, "too_few_items": r.too_few,
                "significant_unadjusted": r.significant, "significant": self.significant,
                "seed_differences": {str(k): v for k, v in self.seed_differences.items()},
                "seed_difference_mean_sd": list(stats.mean_std(spread)) if spread else None}


def _mean_value(group: Sequence["Entry"], benchmark: str, metric: str) -> float | None:
    values = [m.value for e in group if (m := e.metric(benchmark, metric)) is not None and m.value is not None]
    return float(np.mean(values)) if values else None


def _pairs(groups: dict[tuple[str, str], list], key: tuple[str, str], higher_is_better: bool):
    """(student, method, baseline, role) for one metric: baselines, teachers, and each block's best vs runner-up."""
    seen: set[frozenset] = set()
    # methods first, then DPO, then SFT: the SFT-DPO pair is stored as DPO against SFT, the other way round skipped
    for (student, method) in sorted(groups, key=lambda sm: {"dpo": 1, "sft": 2}.get(sm[1], 0)):
        baselines = ("ref_teacher",) if method == "dpo_teacher" else (() if method in TEACHER_ROWS else BASELINES)
        for baseline in baselines:
            if baseline != method and (student, baseline) in groups and frozenset((student, method, baseline)) not in seen:
                seen.add(frozenset((student, method, baseline)))
                yield student, method, baseline, BASELINE_ROLE
    for student in dict.fromkeys(s for s, _ in groups):
        means = [(m, v) for (s, m), g in groups.items()
                 if s == student and m not in TEACHER_ROWS and (v := _mean_value(g, *key)) is not None]
        if len(means) < 2:
            continue
        ranked = sorted(means, key=lambda mv: mv[1], reverse=higher_is_better)
        (best, v1), (runner_up, v2) = ranked[0], ranked[1]
        if v1 != v2 and frozenset((student, best, runner_up)) not in seen:
            seen.add(frozenset((student, best, runner_up)))
            yield student, best, runner_up, BEST_ROLE


def comparisons(entries: Sequence["Entry"]) -> list[Comparison]:
    """Every comparison the table draws (see the module doc), Holm-adjusted within each metric."""
    groups: dict[tuple[str, str], list] = {}
    for entry in sorted(entries, key=lambda e: e.seed):
        if entry.study == MAIN_STUDY:
            groups.setdefault((entry.student, entry.method), []).append(entry)
    metrics: dict[tuple[str, str], bool] = {}
    for entry in entries:
        for m in entry.metrics:
            if m.item_scores is not None and entry.study == MAIN_STUDY:
                # the direction rule of bench.report.columns.make_column: a loss-like name is lower-is-better
                higher = m.higher_is_better and not re.search(r"(nll|loss|perplexity|ppl)$", m.metric)
                metrics[m.key] = metrics.get(m.key, True) and higher
    out = []
    for key, higher in sorted(metrics.items()):
        family = []
        for student, method, baseline, role in _pairs(groups, key, higher):
            a, b = groups[(student, method)], groups[(student, baseline)]
            result = compare_groups(a, b, *key)
            if result is None:
                continue
            family.append(Comparison(student, method, baseline, *key, [e.seed for e in a], [e.seed for e in b],
                                     result, role, seed_differences(a, b, *key)))
        testable = [c for c in family if c.result.p_value is not None and not c.result.too_few]
        for c, adjusted in zip(testable, stats.holm([c.result.p_value for c in testable])):
            c.p_holm, c.family_size = adjusted, len(testable)
        for c in family:
            c.family_size = len(testable)
        out += family
    return out


def lookup(found: Sequence[Comparison], student: str, method: str, baseline: str, benchmark: str,
           metric: str) -> tuple[Comparison, int] | None:
    """The comparison of method against baseline (sign +1), or of baseline against method (sign -1)."""
    for c in found:
        if (c.student, c.benchmark, c.metric) == (student, benchmark, metric):
            if (c.method, c.baseline) == (method, baseline):
                return c, 1
            if (c.method, c.baseline) == (baseline, method):
                return c, -1
    return None
