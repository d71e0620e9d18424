"""open_llm document selection: per-task limits, proportional MMLU allocation, seeded nested samples."""
from __future__ import annotations

import pytest

from bench.evals.open_llm.selection import allocate, choose_documents, pick, task_limit


def test_limits_per_task_or_for_all():
    assert task_limit(None, "mmlu") is None and task_limit(7, "mmlu") == 7
    assert task_limit({"mmlu": 3}, "mmlu") == 3 and task_limit({"mmlu": 3}, "gsm8k") is None
    for bad in (0, -2, 1.5, True, "10"):
        with pytest.raises(ValueError, match="open_llm limit for gsm8k"):
            task_limit({"gsm8k": bad}, "gsm8k")


def test_allocation_is_proportional_with_one_per_group():
    sizes = {"a": 1000, "b": 300, "c": 100, "d": 5}
    # quotas 99.64, 29.89, 9.96, 0.50: floors 99, 29, 9, (at least) 1; the two left go to the largest remainders
    assert allocate(sizes, 140) == {"a": 99, "b": 30, "c": 10, "d": 1}
    assert allocate(sizes, 1400) == {"a": 996, "b": 299, "c": 100, "d": 5}
    assert allocate(sizes, 2) == {"a": 1, "b": 1, "c": 1, "d": 1}  # never fewer than one per group
    assert allocate(sizes, 5000) == sizes
    assert sum(allocate({"x": 3, "y": 3, "z": 4}, 7).values()) == 7
    # the floor of one per group can overshoot n: it is taken back from the group furthest above its quota
    assert allocate({"a": 100, "b": 1, "c": 1}, 10) == {"a": 8, "b": 1, "c": 1}
    assert allocate({"a": 100, "b": 1, "c": 1}, 3) == {"a": 1, "b": 1, "c": 1}


def test_random_samples_are_seeded_sorted_and_nested():
    small, large = pick(1000, 10, "random", 1234, "t"), pick(1000, 50, "random", 1234, "t")
    assert small == sorted(set(small)) and len(small) == 10 and all(0 <= i < 1000 for i in small)
    assert set(small) <= set(large) and small != list(range(10))
    assert pick(1000, 10, "random", 1234, "t") == small != pick(1000, 10, "random", 1234, "other")
    assert pick(1000, 10, "first", 1234, "t") == list(range(10)) and pick(5, 10, "random", 1, "t") == list(range(5))
    with pytest.raises(ValueError, match="order"):
        pick(1000, 10, "last", 1234, "t")


def test_documents_per_leaf():
    sizes = {"mmlu_a": 200, "mmlu_b": 100}
    assert choose_documents(sizes, None, "random", 1) == {"mmlu_a": list(range(200)), "mmlu_b": list(range(100))}
    chosen = choose_documents(sizes, 30, "first", 1)
    assert chosen == {"mmlu_a": list(range(20)), "mmlu_b": list(range(10))}


def test_the_average_carries_an_interval_from_its_tasks():
    import math

    from bench.evals.api import with_interval
    from bench.evals.open_llm.rows import average_row
    from bench.results.schema import MetricResult

    def task(name, scores):
        return MetricResult("open_llm", name, sum(scores) / len(scores), n_items=len(scores),
                            item_scores={f"{name}/{i}": s for i, s in enumerate(scores)}, score_kind="binary")

    wino = task("winogrande", [1, 0, 1, 1, 0, 1, 0, 1])
    one = with_interval(average_row([wino], {}))
    # over one task the average is that task: same items (paired tests work), same Wilson interval
    assert one.value == wino.value and one.item_scores == wino.item_scores
    assert one.interval == with_interval(task("winogrande", [1, 0, 1, 1, 0, 1, 0, 1])).interval
    arc = task("arc_challenge", [1, 1, 0, 0])
    two = with_interval(average_row([wino, arc], {}))
    assert math.isclose(two.value, (5 / 8 + 0.5) / 2)
    # a stratified bootstrap: each task's items resampled on their own; the draws of a mean of 0/1 items are
    # binomial, so the interval is the percentiles of (Bin(8, 5/8) / 8 + Bin(4, 1/2) / 4) / 2 - within a resample
    # step of the exact ones
    import numpy as np
    from scipy.stats import binom

    grid = {(a / 8 + b / 4) / 2: 0.0 for a in range(9) for b in range(5)}
    for a in range(9):
        for b in range(5):
            grid[(a / 8 + b / 4) / 2] += binom.pmf(a, 8, 5 / 8) * binom.pmf(b, 4, 0.5)
    values = np.array(sorted(grid))
    cdf = np.cumsum([grid[v] for v in values])
    low, high = values[np.searchsorted(cdf, 0.025)], values[np.searchsorted(cdf, 0.975)]
    assert low - 1 / 16 <= two.interval.low <= low + 1 / 16 and high - 1 / 16 <= two.interval.high <= high + 1 / 16
    assert 0 <= two.interval.low < two.value < two.interval.high <= 1
    assert two.item_scores is None and "stratified bootstrap" in two.interval.method
    # a task at 100% and one at 0% : the normal interval of the average ignored them; every draw is then 0.5
    full, empty = task("hellaswag", [1] * 10), task("mmlu", [0] * 10)
    edge = with_interval(average_row([full, empty], {}))
    assert (edge.interval.low, edge.interval.high) == (0.5, 0.5)
