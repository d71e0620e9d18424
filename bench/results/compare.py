"""Paired comparisons between the rows of one table block: every method against the SFT and DPO students, on the
items both were scored on (per-item scores joined on item id; with several seeds, on (seed, item) pairs, so each
seed's model is compared with the same seed's baseline)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from bench import stats

from .entries import MAIN_STUDY

if TYPE_CHECKING:
    from .entries import Entry

BASELINES = ("sft", "dpo")


@dataclass
class Comparison:
    student: str
    method: str
    baseline: str
    benchmark: str
    metric: str
    seeds: list[int]
    # method minus baseline over the paired (seed, item) scores, in the metric's units
    result: stats.Paired

    def to_dict(self) -> dict:
        r = self.result
        return {"student": self.student, "method": self.method, "baseline": self.baseline, "benchmark": self.benchmark,
                "metric": self.metric, "seeds": self.seeds, "n": r.n, "difference": r.difference,
                "interval": r.interval.to_dict(), "p_value": r.p_value, "test": r.test, "significant": r.significant}


def _seeded_items(entries: Sequence["Entry"], benchmark: str, metric: str) -> tuple[dict[str, float], str | None]:
    items, kind = {}, None
    for entry in entries:
        row = entry.metric(benchmark, metric)
        if row is None or row.item_scores is None:
            continue
        kind = kind or row.score_kind
        items.update({f"{entry.seed}:{item}": score for item, score in row.item_scores.items()})
    return items, kind


def compare_groups(method: Sequence["Entry"], baseline: Sequence["Entry"], benchmark: str, metric: str) -> stats.Paired | None:
    """method's seeds against baseline's on the shared (seed, item) pairs; None without two shared items."""
    a, kind = _seeded_items(method, benchmark, metric)
    b, kind_b = _seeded_items(baseline, benchmark, metric)
    if not a or not b or kind != kind_b:
        return None
    return stats.paired(a, b, kind)


def comparisons(entries: Sequence["Entry"]) -> list[Comparison]:
    """Every main-study method against the SFT and DPO students of its block, and the DPO teacher against the
    reference teacher, on every metric with item scores."""
    groups: dict[tuple[str, str], list] = {}
    for entry in entries:
        if entry.study == MAIN_STUDY:
            groups.setdefault((entry.student, entry.method), []).append(entry)
    out = []
    for (student, method), group in groups.items():
        baselines = ("ref_teacher",) if method == "dpo_teacher" else (() if method == "ref_teacher" else BASELINES)
        for baseline in baselines:
            base = groups.get((student, baseline))
            if base is None or baseline == method:
                continue
            keys = {m.key for e in group for m in e.metrics if m.item_scores is not None}
            for benchmark, metric in sorted(keys):
                result = compare_groups(group, base, benchmark, metric)
                if result is None:
                    continue
                seeds = sorted({e.seed for e in group} & {e.seed for e in base})
                out.append(Comparison(student, method, baseline, benchmark, metric, seeds, result))
    return out
