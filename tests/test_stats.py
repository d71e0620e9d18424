"""Intervals and paired tests (bench.stats) against closed forms and constructed data whose answer is known."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import permutation_test

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
    method = {f"q{i}": 6.0 + i for i in range(8)} | {"only-here": 1.0}
    baseline = {f"q{i}": 5.0 + i + (0.5 if i % 2 else -0.25) for i in reversed(range(8))}
    result = stats.paired(method, baseline, "continuous")
    d = np.array([1.0 - (0.5 if i % 2 else -0.25) for i in range(8)])
    assert result.n == 8 and result.difference == pytest.approx(d.mean()) and "sign-flip" in result.test
    reference = permutation_test((d,), lambda x, axis: np.mean(x, axis=axis), permutation_type="samples",
                                 n_resamples=np.inf)
    assert result.p_value == pytest.approx(reference.pvalue)


@pytest.mark.parametrize("n", [1, 2, 5])
def test_too_few_items_is_never_a_mark(n):
    """A constant difference over 2 items had a zero-width interval and was called significant (p = 0.5); with
    fewer than 6 paired items no sign-flip test at 5% can reject (smallest p = 2 / 2^5), so none is run."""
    result = stats.paired({str(i): 7.0 for i in range(n)}, {str(i): 5.0 for i in range(n)}, "continuous")
    assert result.too_few and not result.significant and result.interval is None and result.p_value is None
    binary = stats.paired({str(i): 1.0 for i in range(n)}, {str(i): 0.0 for i in range(n)}, "binary")
    assert binary.too_few and not binary.significant


def test_six_items_all_one_way_reach_the_smallest_exact_p():
    result = stats.paired({str(i): 7.0 + i for i in range(6)}, {str(i): 5.0 + i for i in range(6)}, "continuous")
    assert result.p_value == pytest.approx(2 / 2 ** 6) and result.significant and result.interval.low > 0


def test_three_large_wins_among_zeros_are_not_significant():
    """3 of 200 items at +100 and the rest 0: the BCa interval excluded 0; the sign-flip test sees 3 signs."""
    result = stats.paired({str(i): 100.0 * (i < 3) for i in range(200)}, {str(i): 0.0 for i in range(200)}, "continuous")
    assert result.p_value == pytest.approx(0.25, abs=0.02) and not result.significant
    assert result.interval.low <= 0 <= result.interval.high


@pytest.mark.parametrize("n", [6, 9, 13])
def test_sign_flip_matches_scipy_exactly_when_enumerated(n):
    rng = np.random.default_rng(n)
    for _ in range(5):
        d = rng.integers(-3, 4, n).astype(float)  # ties and zeros included
        reference = permutation_test((d,), lambda x, axis: np.sum(x, axis=axis), permutation_type="samples",
                                     n_resamples=np.inf).pvalue
        assert stats.sign_flip_pvalues(d)[0] == pytest.approx(reference, abs=1e-12)


def test_sign_flip_monte_carlo_agrees_with_scipy():
    d = np.random.default_rng(5).normal(0.35, 1.0, 40)
    reference = permutation_test((d,), lambda x, axis: np.mean(x, axis=axis), permutation_type="samples",
                                 n_resamples=99_999, rng=1).pvalue
    p = stats.sign_flip_pvalues(d)[0]
    assert p == pytest.approx(reference, abs=4 * math.sqrt(reference * (1 - reference) / stats.PERMUTATIONS))
    assert stats.sign_flip_pvalues(d)[0] == p  # fixed seed


@pytest.mark.parametrize("n", [8, 30])
def test_the_interval_is_the_inverted_test_and_agrees_with_p(n):
    """Inside the interval the test of the shifted differences does not reject, just outside it does; and over
    many data sets the interval excludes 0 exactly when p < 0.05."""
    rng = np.random.default_rng(100 + n)
    agree, outside = [], []
    for k in range(40):
        d = rng.normal(0.6 * (k % 3), 1.0, n).round(1)
        result = stats.paired({str(i): v for i, v in enumerate(d)}, {str(i): 0.0 for i in range(n)}, "continuous")
        excludes = result.interval.low > 0 or result.interval.high < 0
        agree.append(excludes == (result.p_value < 0.05))
        width = result.interval.high - result.interval.low
        for end, outward in ((result.interval.low, -1), (result.interval.high, 1)):
            assert stats.sign_flip_pvalues(d - (end - outward * 1e-6 * width))[0] >= 0.05
            outside.append(stats.sign_flip_pvalues(d - (end + outward * 0.02 * width))[0] < 0.05)
    assert all(agree)
    # the accepted set of a Monte-Carlo test can have small gaps at its edge; the edge found is nearly always its end
    assert np.mean(outside) >= 0.9


def test_clustered_items_are_tested_by_prompt():
    """Two turns per question: the test flips question totals, so it is the sign-flip test over the 8 totals."""
    rng = np.random.default_rng(9)
    diffs = rng.normal(0.4, 1.0, 16)
    ids = [f"{q}/t{t}" for q in range(8) for t in (1, 2)]
    result = stats.paired(dict(zip(ids, diffs)), dict.fromkeys(ids, 0.0), "continuous",
                          {i: i.split("/")[0] for i in ids})
    totals = diffs.reshape(8, 2).sum(axis=1)
    reference = permutation_test((totals,), lambda x, axis: np.sum(x, axis=axis), permutation_type="samples",
                                 n_resamples=np.inf).pvalue
    assert result.units == 8 and result.n == 16 and result.p_value == pytest.approx(reference)
    assert result.difference == pytest.approx(diffs.mean())


def test_pass_fail_with_clusters_or_seed_averages_uses_the_sign_flip_test():
    ids = [f"p{p}/{k}" for p in range(10) for k in range(3)]
    a = {i: 1.0 for i in ids}
    b = {i: float(i.endswith("/0")) for i in ids}
    clustered = stats.paired(a, b, "binary", {i: i.split("/")[0] for i in ids})
    assert "sign-flip" in clustered.test and clustered.units == 10
    averaged = stats.paired({str(i): 2 / 3 for i in range(10)}, {str(i): 1 / 3 for i in range(10)}, "binary")
    assert "sign-flip" in averaged.test and averaged.p_value == pytest.approx(2 / 2 ** 10)


def test_mcnemar_pvalues_match_binomtest():
    from scipy.stats import binomtest

    for w in range(0, 12):
        for lost in range(0, 12):
            expected = 1.0 if w + lost == 0 else binomtest(w, w + lost, 0.5).pvalue
            assert stats.mcnemar_pvalues(w, lost) == pytest.approx(expected, abs=1e-12)


def test_detectable_difference_is_the_t_test_power_point():
    # n = 10, power 0.8, two-sided 5%: standardised effect 0.994 (the paired t-test's textbook value, G*Power)
    assert stats.detectable_difference(1.0, 10) == pytest.approx(0.994, abs=0.003)
    # large n: the normal formula (z_0.975 + z_0.8) * sd / sqrt(n)
    assert stats.detectable_difference(0.5, 10_000) == pytest.approx((1.959963984540054 + 0.8416212335729143) * 0.005,
                                                                      rel=2e-3)
    assert stats.detectable_difference(0.5, 5) is None and stats.detectable_difference(0.0, 100) is None


def test_win_rate_and_logit_intervals_stay_in_range():
    """alpaca_eval's normal interval gave [-9.6, 29.6] for a win rate near 10%."""
    scores = [100.0] * 2 + [50.0] * 1 + [0.0] * 17  # 2.5 wins of 20
    ci = stats.win_rate_interval(scores)
    assert 0 <= ci.low < 12.5 < ci.high <= 100
    assert ci.low == pytest.approx(100 * wilson_by_hand(2, 20)[0]) and ci.high == pytest.approx(100 * wilson_by_hand(3, 20)[1])
    assert stats.win_rate_interval([100.0] * 4 + [0.0] * 16).low == pytest.approx(100 * wilson_by_hand(4, 20)[0])
    logit = stats.logit_interval(10.0, 10.0)
    assert 0 < logit.low < 10 < logit.high < 100
    assert stats.logit_interval(0.0, 1.0) is None
    with pytest.raises(ValueError):
        stats.win_rate_interval([130.0])
    soft = stats.win_rate_interval([30.0, 70.0, 100.0, 0.0, 45.0, 80.0])  # soft preferences: bootstrap, in range
    assert "bootstrap" in soft.method and 0 <= soft.low < soft.high <= 100


def test_stratified_bootstrap_of_an_average_of_tasks_respects_the_range():
    """A task at 100% and one at 0%: the normal interval of the average ignored them; resampling each task's items
    keeps every draw inside [0, 1], and with both tasks constant the average is known exactly."""
    assert stats.stratified_bootstrap_mean([[1.0] * 20, [0.0] * 30]) == pytest.approx(
        stats.stratified_bootstrap_mean([[1.0] * 20, [0.0] * 30]))
    ci = stats.stratified_bootstrap_mean([[1.0] * 20, [0.0] * 30])
    assert (ci.low, ci.high) == (0.5, 0.5)
    rng = np.random.default_rng(2)
    tasks = [list((rng.random(400) < 0.97).astype(float)), list((rng.random(300) < 0.5).astype(float))]
    ci = stats.stratified_bootstrap_mean(tasks)
    mean = (np.mean(tasks[0]) + np.mean(tasks[1])) / 2
    se = math.sqrt(np.var(tasks[0], ddof=1) / 400 + np.var(tasks[1], ddof=1) / 300) / 2
    assert ci.low == pytest.approx(mean - 1.96 * se, abs=0.15 * se) and ci.high == pytest.approx(mean + 1.96 * se, abs=0.15 * se)


def test_small_samples_get_a_percentile_bootstrap_and_clusters_are_resampled():
    small = stats.bootstrap_mean([1.0, 3.0, 2.0, 5.0])
    assert "percentile" in small.method and 1.0 <= small.low < small.high <= 5.0
    assert stats.bootstrap_mean([4.0]) is None
    # 12 prompts, each with 3 identical answers: clustering must not narrow the interval by sqrt(3)
    values = np.repeat(np.random.default_rng(4).normal(size=12), 3)
    clustered = stats.bootstrap_mean(values, [str(i // 3) for i in range(36)])
    by_prompt = stats.bootstrap_mean(values[::3])
    assert "12 clusters" in clustered.method
    assert clustered.high - clustered.low == pytest.approx(by_prompt.high - by_prompt.low, rel=0.05)


def test_mean_std_across_seeds():
    assert stats.mean_std([6.0, 6.5, 7.25]) == pytest.approx((6.583333333, np.std([6.0, 6.5, 7.25], ddof=1)))
    assert stats.mean_std([3.0]) == (3.0, None)


def test_evaluator_intervals_resample_prompts_and_stay_in_range():
    """with_interval resamples MT-Bench questions (two turns each), not turns; AlpacaEval's win rate row gets the
    Wilson-at-wins-plus-half-ties interval, not alpaca_eval's normal one (which left [0, 100])."""
    from bench.evals.alpaca_eval import _rows
    from bench.evals.api import with_interval
    from bench.results.schema import MetricResult

    ratings = {f"{q}/t{t}": float((q * 7 + t) % 10 + 1) for q in range(30) for t in (1, 2)}
    row = with_interval(MetricResult("mt_bench", "average", float(np.mean(list(ratings.values()))), n_items=60,
                                     item_scores=ratings, score_kind="continuous"))
    assert "30 clusters (prompts)" in row.interval.method
    annotations = [{"preference": 2.0}] * 2 + [{"preference": 1.5}] + [{"preference": 1.0}] * 17
    metrics = {"n_unannotated": 0, "n_total": 20, "win_rate": 12.5, "standard_error": 11.0,
               "length_controlled_winrate": 10.0, "lc_standard_error": 10.0, "lc_method": "length_controlled_v1",
               "lc_note": None}
    win, lc = _rows(metrics, annotations, {})
    assert (win.interval.low, win.interval.high) == pytest.approx((100 * wilson_by_hand(2, 20)[0], 100 * wilson_by_hand(3, 20)[1]))
    assert 0 < lc.interval.low < 10 < lc.interval.high < 100 and "logit" in lc.interval.method
