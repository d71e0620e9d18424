"""Intervals and paired tests (bench.stats) against closed forms and constructed data whose answer is known."""
from __future__ import annotations

import math

import numpy as np
import pytest

from bench import stats


def wilson_by_hand(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


@pytest.mark.parametrize("k, n", [(0, 16), (3, 16), (38, 200), (200, 200), (1, 1)])
def test_wilson_matches_the_closed_form(k, n):
    interval = stats.wilson(k, n)
    low, high = wilson_by_hand(k, n)
    assert (interval.low, interval.high) == pytest.approx((low, high), abs=1e-12)
    assert interval.method == "wilson"


def test_binary_items_use_wilson_and_refuse_other_values():
    scores = [1.0] * 38 + [0.0] * 162
    interval = stats.interval(scores, "binary")
    assert (interval.low, interval.high) == pytest.approx(wilson_by_hand(38, 200), abs=1e-12)
    with pytest.raises(ValueError, match="0 or 1"):
        stats.interval([0.5, 1.0], "binary")


def test_bootstrap_of_a_normal_sample_matches_the_t_interval():
    """For n = 400 draws the bootstrap interval of the mean is the textbook mean ± 1.96 s / sqrt(n), to within a few
    percent of its width; and it is the same on every call (fixed seed)."""
    x = np.random.default_rng(7).normal(5.0, 2.0, 400)
    interval = stats.bootstrap_mean(x)
    half = 1.959963984540054 * x.std(ddof=1) / math.sqrt(len(x))
    assert interval.low == pytest.approx(x.mean() - half, abs=0.05 * half)
    assert interval.high == pytest.approx(x.mean() + half, abs=0.05 * half)
    assert stats.bootstrap_mean(x) == interval


def test_bootstrap_covers_the_true_mean_about_95_percent_of_the_time():
    rng = np.random.default_rng(11)
    hits = 0
    for _ in range(200):
        interval = stats.bootstrap_mean(rng.exponential(1.0, 80))
        hits += interval.low <= 1.0 <= interval.high
    assert 0.90 <= hits / 200 <= 0.99


def test_no_spread_gives_the_point_itself():
    interval = stats.bootstrap_mean([5.0, 5.0, 5.0])
    assert (interval.low, interval.high) == (5.0, 5.0) and "no spread" in interval.method


def test_paired_binary_comparison_on_constructed_items():
    # 200 items: the method passes 40 items the baseline fails and fails 10 it passes, equal elsewhere.
    ids = [str(i) for i in range(200)]
    method = {i: 1.0 if int(i) < 90 else 0.0 for i in ids}  # 90 passes
    baseline = {i: 1.0 if 40 <= int(i) < 100 else 0.0 for i in ids}  # 60 passes, 50 of them shared
    result = stats.paired(method, baseline, "binary")
    assert result.n == 200 and result.difference == pytest.approx(30 / 200)
    assert "40 won, 10 lost" in result.test
    from scipy.stats import binomtest

    assert result.p_value == pytest.approx(binomtest(40, 50, 0.5).pvalue)
    assert result.significant and result.interval.low > 0
    # the exact conditional interval: (b + c) / n * (2 theta - 1) over theta's Clopper-Pearson interval
    low, high = binomtest(40, 50).proportion_ci(method="exact")
    assert (result.interval.low, result.interval.high) == pytest.approx((50 / 200 * (2 * low - 1), 50 / 200 * (2 * high - 1)))
    flipped = stats.paired(baseline, method, "binary")
    assert flipped.difference == pytest.approx(-30 / 200) and flipped.significant and flipped.interval.high < 0


def test_a_few_one_sided_wins_are_not_called_significant():
    """4 wins and 0 losses in 200 items: the sign test's p is 0.125, and the interval of the difference includes 0
    (a bootstrap of the per-item differences would exclude it)."""
    ids = [str(i) for i in range(200)]
    result = stats.paired({i: float(int(i) < 4) for i in ids}, {i: 0.0 for i in ids}, "binary")
    assert result.p_value == pytest.approx(0.125) and not result.significant and result.interval.low < 0


def test_paired_comparison_of_equal_models_is_not_significant():
    rng = np.random.default_rng(3)
    ids = [str(i) for i in range(300)]
    a = {i: float(v) for i, v in zip(ids, rng.integers(0, 2, 300))}
    b = {i: float(v) for i, v in zip(ids, rng.integers(0, 2, 300))}
    result = stats.paired(a, b, "binary")
    assert not result.significant and result.interval.low < 0 < result.interval.high


def test_paired_continuous_joins_on_ids_and_uses_only_shared_items():
    method = {"q1": 6.0, "q2": 7.0, "q3": 8.0, "only-here": 1.0}
    baseline = {"q3": 7.0, "q2": 6.0, "q1": 5.0}
    result = stats.paired(method, baseline, "continuous")
    assert result.n == 3 and result.difference == pytest.approx(1.0) and result.test == "Wilcoxon signed-rank"
    assert stats.paired({"a": 1.0}, {"a": 0.0}, "continuous") is None  # one shared item: no test


def test_detectable_difference_closed_form():
    # (z_0.975 + z_0.8) * sd / sqrt(n) = (1.95996 + 0.84162) * 0.5 / 10
    assert stats.detectable_difference(0.5, 100) == pytest.approx((1.959963984540054 + 0.8416212335729143) * 0.05)
    assert stats.detectable_difference(0.5, 1) is None


def test_mean_std_across_seeds():
    assert stats.mean_std([6.0, 6.5, 7.25]) == pytest.approx((6.583333333, np.std([6.0, 6.5, 7.25], ddof=1)))
    assert stats.mean_std([3.0]) == (3.0, None)
