"""95% intervals of one model's mean: Wilson, bootstrap (clustered, stratified), win rates, logit, normal."""
from __future__ import annotations

import math
import warnings
from typing import Sequence

import numpy as np
from scipy import stats as sps

from bench.intervals import BINARY, CONTINUOUS, Interval

from .settings import _BATCH_CELLS, ALPHA, LEVEL, MIN_BCA, RESAMPLES, SEED


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


def cluster_sums(values: np.ndarray, clusters: Sequence[str] | None) -> tuple[np.ndarray, np.ndarray]:
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
    totals, sizes = cluster_sums(x, clusters)
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
