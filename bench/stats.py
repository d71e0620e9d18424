"""Uncertainty: 95% intervals for a metric, paired comparisons of two models on the same items, Holm's correction over
a family of comparisons, and the smallest difference a run of a given size could detect. docs/statistics.md says
what every mark means and shows the simulations that check it.

Intervals of one model's mean (``interval``):
- pass/fail items (BINARY), independent: Wilson (``binomtest(k, n).proportion_ci(method="wilson")``).
- anything else, or items clustered by prompt: bootstrap over items (over clusters when clustered, the mean being the
  ratio of resampled sums), BCa from ``MIN_BCA`` resampling units up, percentile below (BCa's corrections are
  unreliable on a handful of units); fewer than two units: no interval. Both stay inside the scores' range.
- a win rate with ties (``win_rate_interval``): Wilson at wins + ties/2, rounded down for the low end and up for the
  high end; a rate known only with a standard error (``logit_interval``): normal on the logit scale.
- a mean of several tasks' means (``stratified_bootstrap_mean``): each task's items resampled on their own.

Paired comparisons (``paired``): one test decides and it is the one reported, with an interval that agrees with it.
- continuous item scores (and pass/fail ones clustered or averaged over seeds): a sign-flip permutation test of the
  mean difference (exact over every sign vector up to ``EXACT_UP_TO`` units, else ``PERMUTATIONS`` Monte-Carlo
  sign vectors from a fixed seed; the same test as ``scipy.stats.permutation_test(permutation_type="samples")``,
  written as a matrix product so a table of comparisons, and the tests' simulations, stay fast). With clusters the
  cluster totals of the differences are flipped. The interval is the test inverted: every shift delta whose test
  is not rejected at 5%; it excludes 0 exactly when p < 0.05 (built so, see ``_inverted_interval``).
- independent pass/fail items: McNemar's exact test (a sign test on the discordant items) with the exact conditional
  interval (Clopper-Pearson on the discordant items, rescaled), which excludes 0 exactly when p < 0.05.
- fewer than ``MIN_PAIRED`` paired units: "too few items", never significant (the smallest attainable two-sided p
  of a sign-flip test over 5 units is 2 / 2^5 = 0.0625).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping, Sequence

import numpy as np
from scipy import optimize
from scipy import stats as sps

from bench.intervals import BINARY, CONTINUOUS, Interval

LEVEL = 0.95
ALPHA = 1 - LEVEL
RESAMPLES = 10_000  # bootstrap resamples
PERMUTATIONS = 9_999  # Monte-Carlo sign vectors of the permutation test (p = (1 + hits) / (1 + PERMUTATIONS))
EXACT_UP_TO = 13  # up to 2^13 = 8192 sign vectors the test enumerates them all (exact p)
MIN_PAIRED = 6  # paired units below which no test at 5% can reject: "too few items"
MIN_BCA = 20  # resampling units below which the bootstrap interval is percentile, not BCa
SEED = 0  # every bootstrap and Monte-Carlo test uses this seed: the same items give the same answer on every machine
_BATCH_CELLS = 4_000_000  # sign-matrix entries per vectorised batch: bounds memory for large n


# ------------------------------------------------------------------------------------------------------ intervals
def wilson(successes: int, n: int) -> Interval:
    low, high = sps.binomtest(int(successes), int(n)).proportion_ci(confidence_level=LEVEL, method="wilson")
    return Interval(float(low), float(high), "wilson")


def win_rate_interval(scores: Sequence[float], scale: float = 100.0) -> Interval | None:
    """Win rate with ties (item scores 0 / scale/2 / scale): Wilson from floor(wins + ties/2) for the low end and
    ceil(...) for the high end (exact without ties); in [0, scale] by construction. Soft preferences (scores in
    between, from a judge's probabilities) get the bootstrap of the mean, also inside [0, scale]."""
    x = np.asarray(scores, dtype=float) / scale
    if x.size == 0:
        return None
    if np.any((x < 0) | (x > 1)):
        raise ValueError(f"win scores must lie in [0, {scale:g}]")
    if np.any((x != 0) & (x != 0.5) & (x != 1)):
        return bootstrap_mean(np.asarray(scores, dtype=float))
    k, n = float(x.sum()), int(x.size)
    low = wilson(math.floor(k), n).low
    high = wilson(math.ceil(k), n).high
    return Interval(scale * low, scale * high, "wilson at wins + ties/2 (ties rounded down / up for the two ends)")


def logit_interval(value: float, stderr: float, scale: float = 100.0) -> Interval | None:
    """A rate in (0, scale) known through its standard error: normal on the logit scale (delta method), mapped back,
    so the interval stays inside (0, scale). None at 0 or scale, where the logit has no standard error."""
    p = value / scale
    if not (0 < p < 1) or not math.isfinite(stderr) or stderr < 0:
        return None
    z = sps.norm.ppf(0.5 + LEVEL / 2)
    centre, half = math.log(p / (1 - p)), z * (stderr / scale) / (p * (1 - p))
    expit = lambda t: 1 / (1 + math.exp(-t))  # noqa: E731
    return Interval(scale * expit(centre - half), scale * expit(centre + half),
                    "normal on the logit scale from the reported standard error")


def _cluster_sums(values: np.ndarray, clusters: Sequence[str] | None) -> tuple[np.ndarray, np.ndarray]:
    """(sum of values, count of items) per cluster; every item its own cluster without ``clusters``."""
    if clusters is None:
        return values, np.ones_like(values)
    codes, inverse = np.unique(np.asarray(clusters, dtype=object).astype(str), return_inverse=True)
    totals = np.bincount(inverse, weights=values, minlength=len(codes))
    sizes = np.bincount(inverse, minlength=len(codes)).astype(float)
    return totals, sizes


def _ratio(totals, sizes, axis=-1):
    return np.sum(totals, axis=axis) / np.sum(sizes, axis=axis)


def bootstrap_mean(values: Sequence[float], clusters: Sequence[str] | None = None) -> Interval | None:
    """Bootstrap interval of the mean over items (over clusters when given: the mean is sum / count of the resampled
    clusters' items). BCa from MIN_BCA units, percentile below; None under two units."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        raise ValueError("no values to bootstrap")
    totals, sizes = _cluster_sums(x, clusters)
    units = totals.size
    if units < 2:
        return None
    unit = "clusters (prompts)" if clusters is not None and units < x.size else "items"
    if np.ptp(x) == 0:
        return Interval(float(x.mean()), float(x.mean()), f"no spread (every item has the same score; {units} {unit})")
    method = "BCa" if units >= MIN_BCA else "percentile"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # BCa warns and returns NaN on near-degenerate samples; we fall back below
        result = sps.bootstrap((totals, sizes), _ratio, paired=True, confidence_level=LEVEL, n_resamples=RESAMPLES,
                               method=method, rng=np.random.default_rng(SEED), vectorized=True,
                               batch=max(1, _BATCH_CELLS // units))
    low, high = result.confidence_interval
    if not (math.isfinite(low) and math.isfinite(high)):
        method = "percentile"
        low, high = np.percentile(result.bootstrap_distribution, [100 * ALPHA / 2, 100 * (1 - ALPHA / 2)])
    why = "" if units >= MIN_BCA else f"; BCa only from {MIN_BCA}"
    return Interval(float(low), float(high),
                    f"bootstrap {method} ({RESAMPLES} resamples over {units} {unit}, seed {SEED}{why})")


def stratified_bootstrap_mean(groups: Sequence[Sequence[float]]) -> Interval | None:
    """Percentile interval of the unweighted mean of several groups' means (an average of tasks), each group's items
    resampled on their own. The draws are exact bootstrap draws of each group's mean (multinomial counts over its
    distinct values), so large tasks cost little; the interval lies inside the groups' range by construction."""
    if not groups or any(len(g) < 2 for g in groups):
        return None
    rng = np.random.default_rng(SEED)
    draws = np.zeros(RESAMPLES)
    for group in groups:
        values, counts = np.unique(np.asarray(group, dtype=float), return_counts=True)
        n = counts.sum()
        draws += rng.multinomial(n, counts / n, size=RESAMPLES) @ values / n
    draws /= len(groups)
    low, high = np.percentile(draws, [100 * ALPHA / 2, 100 * (1 - ALPHA / 2)])
    return Interval(float(low), float(high), f"stratified bootstrap percentile ({RESAMPLES} resamples of each of the "
                                             f"{len(groups)} tasks' items, seed {SEED})")


def is_binary(values: Sequence[float]) -> bool:
    return all(v in (0.0, 1.0) for v in values)


def interval(values: Sequence[float], kind: str, clusters: Sequence[str] | None = None) -> Interval | None:
    """The interval of the mean of per-item scores of the given kind (None under two resampling units)."""
    if kind == BINARY:
        if not is_binary(values):
            raise ValueError("binary item scores must be 0 or 1")
        if clusters is None or len(set(clusters)) == len(clusters):
            return wilson(int(sum(values)), len(values))
    elif kind != CONTINUOUS:
        raise ValueError(f"unknown score kind {kind!r}")
    return bootstrap_mean(values, clusters)


def normal_interval(value: float, stderr: float, method: str) -> Interval:
    z = sps.norm.ppf(0.5 + LEVEL / 2)
    return Interval(value - z * stderr, value + z * stderr, method)


# ------------------------------------------------------------------------------------------- sign-flip permutation
@lru_cache(maxsize=16)
def _exact_signs(units: int) -> np.ndarray:
    """Every sign vector over ``units`` units (2^units x units), the identity included."""
    codes = np.arange(2 ** units)[:, None] >> np.arange(units)[None, :] & 1
    return (1 - 2 * codes).astype(float)


def _sign_batches(units: int):
    """The sign vectors of the test, in batches: all of them (exact) or PERMUTATIONS from a fixed seed."""
    if units <= EXACT_UP_TO:
        yield _exact_signs(units)
        return
    rows = max(1, _BATCH_CELLS // units)
    if units <= _CACHED_UP_TO:  # a table tests many pairs on the same items: draw their sign vectors once
        signs = _random_signs(units)
        for start in range(0, PERMUTATIONS, rows):
            yield signs[start:start + rows].astype(float)
        return
    rng = np.random.default_rng(SEED)
    for start in range(0, PERMUTATIONS, rows):
        count = min(rows, PERMUTATIONS - start)
        yield rng.integers(0, 2, size=(count, units)).astype(float) * 2 - 1


_CACHED_UP_TO = 2_000  # units whose Monte-Carlo sign vectors are kept (int8: at most 20 MB each, 4 kept)


@lru_cache(maxsize=4)
def _random_signs(units: int) -> np.ndarray:
    """PERMUTATIONS x units signs from the fixed seed, drawn in the same batches as the uncached path (same values)."""
    rng = np.random.default_rng(SEED)
    rows = max(1, _BATCH_CELLS // units)
    parts = [(rng.integers(0, 2, size=(min(rows, PERMUTATIONS - start), units)) * 2 - 1).astype(np.int8)
             for start in range(0, PERMUTATIONS, rows)]
    return np.concatenate(parts)


def _pvalue(hits: np.ndarray, units: int) -> np.ndarray:
    if units <= EXACT_UP_TO:
        return hits / 2.0 ** units
    return (1 + hits) / (1 + PERMUTATIONS)


def sign_flip_pvalues(totals: np.ndarray) -> np.ndarray:
    """Two-sided sign-flip p-values of H0 "mean difference 0", one per row of ``totals`` (datasets x units: the
    per-unit sums of paired differences). The statistic is the sum; a flip counts when |flipped| >= |observed|.
    Vectorised over datasets: the simulations of tests/test_stats_simulation.py call exactly this."""
    t = np.atleast_2d(np.asarray(totals, dtype=float))
    units = t.shape[1]
    observed = np.abs(t.sum(axis=1))
    tol = _tolerance(np.abs(t).sum(axis=1))
    hits = np.zeros(t.shape[0])
    for signs in _sign_batches(units):
        chunk = max(1, _BATCH_CELLS // len(signs))
        for start in range(0, t.shape[0], chunk):
            part = slice(start, start + chunk)
            hits[part] += (np.abs(t[part] @ signs.T) >= (observed[part] - tol[part])[:, None]).sum(axis=1)
    return _pvalue(hits, units)


def _tolerance(magnitude):
    """Float sums of equal size must count as equal (tied flips): a relative margin on the sum of |terms|."""
    return 1e-9 * magnitude + 1e-300


class _ShiftedTest:
    """p(delta) of H0 "mean difference delta" for one dataset: the flipped sums of (d - delta) are a - delta * c with
    a = signs @ totals and c = signs @ sizes, so every delta costs one pass over stored vectors."""

    def __init__(self, totals: np.ndarray, sizes: np.ndarray):
        self.units, self.total, self.size = totals.size, totals.sum(), sizes.sum()
        a, c = [], []
        for signs in _sign_batches(self.units):
            a.append(signs @ totals)
            c.append(signs @ sizes)
        self.a, self.c = np.concatenate(a), np.concatenate(c)
        self.magnitude = np.abs(totals).sum()

    def __call__(self, delta: float) -> float:
        observed = abs(self.total - delta * self.size)
        tol = _tolerance(self.magnitude + abs(delta) * self.size)
        hits = float((np.abs(self.a - delta * self.c) >= observed - tol).sum())
        return float(_pvalue(np.array(hits), self.units))


def _boundary(test: _ShiftedTest, accepted: float, rejected: float) -> float:
    """The last accepted shift between an accepted and a rejected one (bisection to ~1e-10 of their distance)."""
    for _ in range(60):
        middle = (accepted + rejected) / 2
        if middle in (accepted, rejected):
            break
        if test(middle) >= ALPHA:
            accepted = middle
        else:
            rejected = middle
    return accepted


def _inverted_interval(totals: np.ndarray, sizes: np.ndarray) -> tuple[float, Interval]:
    """p-value at 0 and the test-inversion interval {delta : p(delta) >= 0.05}, searched outward from the estimate.
    The side facing 0 is searched between the estimate and 0 when 0 is rejected, and beyond 0 when it is not, so the
    interval excludes 0 exactly when p(0) < 0.05 even if the accepted set had gaps."""
    test = _ShiftedTest(totals, sizes)
    estimate = test.total / test.size
    p0 = float(sign_flip_pvalues(totals[None, :])[0])
    means = totals / sizes
    span = float(means.max() - means.min()) + 1e-9 * (1 + float(np.abs(means).max()))
    far_low, far_high = float(means.min()) - span, float(means.max()) + span  # beyond every unit's mean: rejected
    ends = []
    for far in (far_low, far_high):
        towards_zero = (far < estimate) == (0 < estimate) and estimate != 0
        if towards_zero and p0 < ALPHA:
            ends.append(_boundary(test, estimate, 0.0))
        elif towards_zero:
            ends.append(_boundary(test, 0.0, far) if test(far) < ALPHA else far)
        else:
            ends.append(_boundary(test, estimate, far) if test(far) < ALPHA else far)
    return p0, Interval(float(ends[0]), float(ends[1]), "")


# ----------------------------------------------------------------------------------------------- paired comparison
@dataclass
class Paired:
    """method minus baseline on the items both were scored on."""

    n: int  # paired items
    difference: float  # mean of the per-item differences
    interval: Interval | None  # None when too few items
    p_value: float | None  # None when too few items
    test: str
    sd_difference: float
    units: int = 0  # resampling / test units: items, or clusters (prompts) when the items are clustered
    too_few: bool = False  # fewer than MIN_PAIRED units: no test at 5% can reject
    sd_units: float = float("nan")  # sd of the per-unit mean differences (= sd_difference without clusters)

    @property
    def significant(self) -> bool:
        """Unadjusted: p < 0.05 (the interval excludes 0 exactly then). Tables apply Holm's correction on top."""
        return not self.too_few and self.p_value is not None and self.p_value < ALPHA


TOO_FEW = f"too few items (fewer than {MIN_PAIRED} paired units: no test at 5% can reject)"


def paired(method: Mapping[str, float], baseline: Mapping[str, float], kind: str,
           clusters: Mapping[str, str] | None = None) -> Paired | None:
    """Paired comparison on the shared item ids; None when they share none. ``clusters`` maps item id -> cluster
    (e.g. the prompt an item belongs to): the test and interval then resample clusters, not items. Pass/fail items
    that are not 0/1 (averaged over seeds) are compared with the sign-flip test like continuous ones."""
    ids = [i for i in method if i in baseline]
    if not ids:
        return None
    a = np.array([method[i] for i in ids], dtype=float)
    b = np.array([baseline[i] for i in ids], dtype=float)
    d = a - b
    groups = [clusters.get(i, i) for i in ids] if clusters else None
    totals, sizes = _cluster_sums(d, groups)
    units = totals.size
    sd = float(d.std(ddof=1)) if d.size > 1 else float("nan")
    sd_units = float((totals / sizes).std(ddof=1)) if units > 1 else float("nan")
    clustered = units < d.size
    if units < MIN_PAIRED:
        return Paired(len(ids), float(d.mean()), None, None, TOO_FEW, sd, units, True, sd_units)
    if kind == BINARY and not clustered and is_binary(a) and is_binary(b):
        wins, losses = int(((a == 1) & (b == 0)).sum()), int(((a == 0) & (b == 1)).sum())
        p, ci = _discordant(wins, losses, len(ids))
        test = f"McNemar exact (sign test on discordant items: {wins} won, {losses} lost)"
        return Paired(len(ids), float(d.mean()), ci, p, test, sd, units, False, sd_units)
    p, ci = _inverted_interval(totals, sizes)
    how = "exact, all 2^%d sign vectors" % units if units <= EXACT_UP_TO else f"{PERMUTATIONS} random sign vectors, seed {SEED}"
    unit = f"{units} prompts (cluster totals flipped)" if clustered else f"{units} items"
    test = f"sign-flip permutation test of the mean difference ({how}; over {unit})"
    ci.method = "the permutation test inverted: shifts of the mean difference it does not reject at 5%"
    return Paired(len(ids), float(d.mean()), ci, p, test, sd, units, False, sd_units)


def _discordant(wins: int, losses: int, n: int) -> tuple[float, Interval]:
    """Sign-test p-value and the exact conditional 95% interval of the paired difference in pass rates. The sign
    test's null distribution is symmetric, so its two-sided p < 0.05 exactly when the central Clopper-Pearson
    interval of theta = wins / discordant excludes 1/2, i.e. when the interval of the difference excludes 0."""
    discordant = wins + losses
    if discordant == 0:
        return 1.0, Interval(0.0, 0.0, "no discordant items")
    low, high = sps.binomtest(wins, discordant, 0.5).proportion_ci(confidence_level=LEVEL, method="exact")
    scale = discordant / n
    return float(mcnemar_pvalues(wins, losses)), Interval(scale * (2 * low - 1), scale * (2 * high - 1),
                                        "exact conditional (Clopper-Pearson on the discordant items)")


def mcnemar_pvalues(wins, losses) -> np.ndarray:
    """McNemar's exact two-sided p: 2 P(X <= min(wins, losses)) for X ~ Binomial(wins + losses, 1/2), capped at 1
    (binomtest's two-sided p, the null being symmetric); 1 without discordant items. Vectorised."""
    w, l = np.asarray(wins), np.asarray(losses)
    n = w + l
    p = np.minimum(1.0, 2 * sps.binom.cdf(np.minimum(w, l), np.maximum(n, 1), 0.5))
    return np.where(n == 0, 1.0, p)


# ------------------------------------------------------------------------------------------------- multiplicity
def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (family-wise error rate): the i-th smallest p times (m - i + 1), made
    non-decreasing in that order and capped at 1. Reject where the adjusted p < 0.05."""
    p = np.asarray(p_values, dtype=float)
    m = p.size
    if m == 0:
        return []
    order = np.argsort(p, kind="stable")
    stepped = np.minimum(1.0, np.maximum.accumulate(p[order] * (m - np.arange(m))))
    out = np.empty(m)
    out[order] = stepped
    return [float(v) for v in out]


# ------------------------------------------------------------------------------------------------------- power
def detectable_difference(sd_difference: float, n: int, power: float = 0.8) -> float | None:
    """Smallest true mean difference a two-sided paired test at 5% detects with the given power, for per-item
    differences of this standard deviation: the shift at which a paired t-test's power (noncentral t, n - 1 degrees
    of freedom) reaches ``power``. The sign-flip test has nearly the t-test's power; tests/test_stats_simulation.py
    checks it at this effect."""
    if n < MIN_PAIRED or not math.isfinite(sd_difference) or sd_difference <= 0:
        return None
    df, crit = n - 1, sps.t.ppf(1 - ALPHA / 2, n - 1)

    def shortfall(effect: float) -> float:
        nc = effect / sd_difference * math.sqrt(n)
        exact = float(sps.nct.sf(crit, df, nc) + sps.nct.cdf(-crit, df, nc)) if n <= 200 else math.nan
        if not math.isfinite(exact):  # scipy's noncentral t fails at large df or nc; the normal is within 1e-3 there
            exact = float(sps.norm.sf(crit - nc) + sps.norm.cdf(-crit - nc))
        return exact - power

    # the normal approximation (z_0.975 + z_power) sd / sqrt(n) is within 30% of the answer from n = 6 up
    high = 3 * (sps.norm.ppf(1 - ALPHA / 2) + sps.norm.ppf(power)) * sd_difference / math.sqrt(n)
    return float(optimize.brentq(shortfall, 0.0, high, xtol=1e-12 * sd_difference))


def mean_std(values: Sequence[float]) -> tuple[float, float | None]:
    """Across seeds: the mean and the sample standard deviation (None for one seed)."""
    x = np.asarray(values, dtype=float)
    return float(x.mean()), (float(x.std(ddof=1)) if x.size > 1 else None)
