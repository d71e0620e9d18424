"""Paired comparisons (one test decides, with an agreeing interval), Holm's correction, and power."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
from scipy import optimize
from scipy import stats as sps

from bench.intervals import BINARY, Interval

from .intervals import cluster_sums, is_binary
from .permutation import inverted_interval
from .settings import ALPHA, EXACT_UP_TO, LEVEL, MIN_PAIRED, PERMUTATIONS, SEED


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
    totals, sizes = cluster_sums(d, groups)
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
    p, ci = inverted_interval(totals, sizes)
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
