"""Uncertainty: 95% intervals for a metric, paired comparisons of two models on the same items, and the smallest
difference a run of a given size could detect. SciPy does the statistics; this module only chooses and records.

- pass/fail items (BINARY): Wilson interval (``scipy.stats.binomtest(k, n).proportion_ci(method="wilson")``);
  a paired comparison is an exact sign test on the discordant items (McNemar's exact test), and the interval of the
  difference is the exact conditional one: with b items won and c lost out of n, the difference is
  (b + c) / n * (2 theta - 1) for theta = b / (b + c), whose Clopper-Pearson interval it inherits. (A bootstrap of
  the differences would call 4 wins and 0 losses in 200 items significant; the sign test does not, p = 0.125.)
- any other item score (CONTINUOUS): BCa bootstrap of the mean over items (``scipy.stats.bootstrap``, fixed seed);
  a paired comparison is a bootstrap of the mean per-item difference, with Wilcoxon's signed-rank test's p-value.
A difference is called real when the 95% interval of the difference excludes 0.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
from scipy import stats as sps

from bench.intervals import BINARY, CONTINUOUS, Interval

LEVEL = 0.95
RESAMPLES = 10_000
SEED = 0  # every bootstrap uses this seed: the same items give the same interval on every machine
_BATCH = 500  # resamples per vectorised batch: bounds memory for large n


def wilson(successes: int, n: int) -> Interval:
    low, high = sps.binomtest(int(successes), int(n)).proportion_ci(confidence_level=LEVEL, method="wilson")
    return Interval(float(low), float(high), "wilson")


def bootstrap_mean(values: Sequence[float]) -> Interval:
    """BCa bootstrap interval of the mean; a sample with no spread has the point itself as its interval."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        raise ValueError("no values to bootstrap")
    if x.size == 1 or np.ptp(x) == 0:
        return Interval(float(x.mean()), float(x.mean()), "no spread (every item has the same score)")
    method = "BCa"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # BCa warns and returns NaN on near-degenerate samples; we fall back below
        result = sps.bootstrap((x,), np.mean, confidence_level=LEVEL, n_resamples=RESAMPLES, method="BCa",
                               rng=np.random.default_rng(SEED), batch=_BATCH, vectorized=True)
    low, high = result.confidence_interval
    if not (math.isfinite(low) and math.isfinite(high)):
        method = "percentile"
        result = sps.bootstrap((x,), np.mean, confidence_level=LEVEL, n_resamples=RESAMPLES, method="percentile",
                               rng=np.random.default_rng(SEED), batch=_BATCH, vectorized=True)
        low, high = result.confidence_interval
    return Interval(float(low), float(high), f"bootstrap {method} ({RESAMPLES} resamples over items, seed {SEED})")


def is_binary(values: Sequence[float]) -> bool:
    return all(v in (0.0, 1.0) for v in values)


def interval(values: Sequence[float], kind: str) -> Interval:
    """The interval of the mean of per-item scores of the given kind."""
    if kind == BINARY:
        if not is_binary(values):
            raise ValueError("binary item scores must be 0 or 1")
        return wilson(int(sum(values)), len(values))
    if kind != CONTINUOUS:
        raise ValueError(f"unknown score kind {kind!r}")
    return bootstrap_mean(values)


def normal_interval(value: float, stderr: float, method: str) -> Interval:
    z = sps.norm.ppf(0.5 + LEVEL / 2)
    return Interval(value - z * stderr, value + z * stderr, method)


@dataclass
class Paired:
    """method minus baseline on the items both were scored on."""

    n: int
    difference: float
    interval: Interval
    p_value: float
    test: str
    sd_difference: float

    @property
    def significant(self) -> bool:
        return self.interval.low > 0 or self.interval.high < 0


def paired(method: Mapping[str, float], baseline: Mapping[str, float], kind: str) -> Paired | None:
    """Paired comparison on the shared item ids; None when they share fewer than two items."""
    ids = [i for i in method if i in baseline]
    if len(ids) < 2:
        return None
    a = np.array([method[i] for i in ids], dtype=float)
    b = np.array([baseline[i] for i in ids], dtype=float)
    d = a - b
    if kind == BINARY:
        wins, losses = int(((a == 1) & (b == 0)).sum()), int(((a == 0) & (b == 1)).sum())
        p, ci = _discordant(wins, losses, len(ids))
        test = f"exact sign test on discordant items ({wins} won, {losses} lost)"
    else:
        ci = bootstrap_mean(d)
        p = 1.0 if not np.any(d) else float(sps.wilcoxon(d, zero_method="zsplit").pvalue)
        test = "Wilcoxon signed-rank"
    return Paired(len(ids), float(d.mean()), ci, p, test, float(d.std(ddof=1)))


def _discordant(wins: int, losses: int, n: int) -> tuple[float, Interval]:
    """Sign-test p-value and the exact conditional 95% interval of the paired difference in pass rates."""
    discordant = wins + losses
    if discordant == 0:
        return 1.0, Interval(0.0, 0.0, "no discordant items")
    test = sps.binomtest(wins, discordant, 0.5)
    low, high = test.proportion_ci(confidence_level=LEVEL, method="exact")
    scale = discordant / n
    return float(test.pvalue), Interval(scale * (2 * low - 1), scale * (2 * high - 1),
                                        "exact conditional (Clopper-Pearson on the discordant items)")


def detectable_difference(sd_difference: float, n: int, power: float = 0.8) -> float | None:
    """Smallest true mean difference a two-sided paired test at level 0.05 detects with the given power, for
    per-item differences of this standard deviation: (z_0.975 + z_power) * sd / sqrt(n)."""
    if n < 2 or not math.isfinite(sd_difference):
        return None
    return float((sps.norm.ppf(0.5 + LEVEL / 2) + sps.norm.ppf(power)) * sd_difference / math.sqrt(n))


def mean_std(values: Sequence[float]) -> tuple[float, float | None]:
    """Across seeds: the mean and the sample standard deviation (None for one seed)."""
    x = np.asarray(values, dtype=float)
    return float(x.mean()), (float(x.std(ddof=1)) if x.size > 1 else None)
