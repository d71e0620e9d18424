"""The table's significance marks, checked by simulation: under no difference at most 5% of comparisons are marked
(plus Monte-Carlo slack), a difference of the size the table says it can detect is found about 80% of the time, and
Holm's correction keeps a whole column's false marks at 5%.

The decisions are the production ones: ``bench.stats.paired`` decides a continuous comparison by
``sign_flip_pvalues`` and a pass/fail one by ``mcnemar_pvalues``, both vectorised over data sets so 2,000 simulated
pairs cost a fraction of a second; each test also runs a few data sets through ``paired`` itself to tie the two.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from bench import stats

SIMULATIONS = 2000
SLACK = 3 * math.sqrt(0.05 * 0.95 / SIMULATIONS)  # three Monte-Carlo standard errors of a 5% rate


def mt_bench_like(rng, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Two models of equal quality rated 1-10 on the same n questions (a question's difficulty shared): many ties."""
    difficulty = rng.uniform(3, 8, size=(SIMULATIONS, n))
    rate = lambda: np.clip(np.rint(difficulty + rng.normal(0, 2, size=(SIMULATIONS, n))), 1, 10)  # noqa: E731
    return rate(), rate()


def continuous_pair(rng, n: int) -> tuple[np.ndarray, np.ndarray]:
    """No ties: reward-model-like real scores."""
    shared = rng.normal(0, 1, size=(SIMULATIONS, n))
    return shared + rng.normal(0, 1, size=(SIMULATIONS, n)), shared + rng.normal(0, 1, size=(SIMULATIONS, n))


def same_decision_as_paired(a: np.ndarray, b: np.ndarray, kind: str, p: np.ndarray) -> None:
    for j in range(3):
        result = stats.paired({str(i): v for i, v in enumerate(a[j])}, {str(i): v for i, v in enumerate(b[j])}, kind)
        assert result.p_value == pytest.approx(p[j]) and result.significant == (p[j] < 0.05)


@pytest.mark.parametrize("n", [10, 16, 80])
@pytest.mark.parametrize("ties", [True, False])
def test_continuous_null_marked_at_most_5_percent(n, ties):
    rng = np.random.default_rng(1000 * n + ties)
    a, b = mt_bench_like(rng, n) if ties else continuous_pair(rng, n)
    p = stats.sign_flip_pvalues(a - b)
    same_decision_as_paired(a, b, "continuous", p)
    assert (p < 0.05).mean() <= 0.05 + SLACK


@pytest.mark.parametrize("n", [50, 200])
@pytest.mark.parametrize("ties", [True, False])
def test_pass_fail_null_marked_at_most_5_percent(n, ties):
    """ties: most items agree (both pass or both fail, correlated models); without: independent models."""
    rng = np.random.default_rng(10 * n + ties)
    if ties:
        shared = rng.random((SIMULATIONS, n)) < 0.4
        flip = lambda: rng.random((SIMULATIONS, n)) < 0.1  # noqa: E731
        a, b = (shared ^ flip()).astype(float), (shared ^ flip()).astype(float)
    else:
        a, b = (rng.random((SIMULATIONS, n)) < 0.3).astype(float), (rng.random((SIMULATIONS, n)) < 0.3).astype(float)
    wins, losses = ((a == 1) & (b == 0)).sum(axis=1), ((a == 0) & (b == 1)).sum(axis=1)
    p = stats.mcnemar_pvalues(wins, losses)
    same_decision_as_paired(a, b, "binary", p)
    assert (p < 0.05).mean() <= 0.05 + SLACK


@pytest.mark.parametrize("n", [16, 80])
def test_the_promised_detectable_difference_is_found_about_80_percent_of_the_time(n):
    rng = np.random.default_rng(7 + n)
    effect = stats.detectable_difference(1.0, n)
    differences = rng.normal(effect, 1.0, size=(SIMULATIONS, n))
    power = (stats.sign_flip_pvalues(differences) < 0.05).mean()
    assert 0.75 <= power <= 0.85, power
    # and half that effect is found far less often: the promise is not vacuous
    assert (stats.sign_flip_pvalues(differences[:500] - effect / 2) < 0.05).mean() < 0.5


def test_holm_on_a_planted_family_gives_the_textbook_answer():
    # Holm (1979) by hand: sorted p 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 -> 0.02, 0.03, 0.06, 0.04 -> running max
    assert stats.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert stats.holm([0.2, 0.9]) == pytest.approx([0.4, 0.9]) and stats.holm([]) == []
    # planted: 5 real differences (p ~ 1e-4) among 15 nulls; Holm keeps the real ones and rejects only them
    rng = np.random.default_rng(3)
    planted = np.concatenate([np.full(5, 1e-4), [0.004, 0.02, 0.04], rng.uniform(0.05, 1, 12)])
    rejected = np.array(stats.holm(planted)) < 0.05
    assert rejected[:5].all() and not rejected[5:].any()
    assert (planted[5:] < 0.05).any()  # uncorrected, some null would have been marked


def test_holm_keeps_a_whole_column_of_null_comparisons_at_5_percent():
    """A column of 20 comparisons of equal models (n = 10 items each): uncorrected, most columns carry a false mark;
    with Holm at most 5% (+ slack) of columns carry any."""
    rng = np.random.default_rng(11)
    columns, family = 600, 20
    p = stats.sign_flip_pvalues(rng.normal(0, 1, size=(columns * family, 10))).reshape(columns, family)
    any_raw = (p < 0.05).any(axis=1).mean()
    any_holm = np.mean([min(stats.holm(row)) < 0.05 for row in p])
    assert any_raw > 0.5 and any_holm <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / columns)
