"""Agreement statistics for `bench judge-check`, all from scipy: nothing here is a hand-written formula.

- pairwise accuracy: over pairs (rating of the better answer, rating of the worse), 1 when the better is rated
  higher, 1/2 for a tie, 0 otherwise. Its interval in reports resamples prompts (``cluster_bootstrap``): the pairs
  of one prompt share the prompt and its answers, so they are not independent. The Wilson interval over pairs
  (``binomtest(...).proportion_ci``; with ties from the lower bound at the count rounded down to the upper bound at
  the count rounded up) is kept for reference only: it treats the pairs as independent and is too narrow.
- AUROC of single grades, pass against fail: Mann-Whitney U / (n_pass * n_fail) (``mannwhitneyu``).
- Spearman / Kendall correlation of per-model means with reference scores (``spearmanr``, ``kendalltau``).
- Bootstrap intervals (``scipy.stats.bootstrap``, percentile, fixed seed) resample clusters: prompts for the
  verifier figures, questions for the MT-Bench ones, since answers to one prompt are not independent.
"""
from __future__ import annotations

import math
import warnings
from typing import Callable, Sequence

import numpy as np
from scipy import stats

SEED = 20250601
N_RESAMPLES = 2000


def _finite(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def pair_outcomes(pairs: Sequence[tuple[float, float]]) -> list[float]:
    """1 / 0.5 / 0 per (better answer's rating, worse answer's rating)."""
    return [1.0 if a > b else 0.5 if a == b else 0.0 for a, b in pairs]


def preference_outcomes(preferences: Sequence[float | None]) -> list[float | None]:
    """Pairwise-accuracy outcomes of a pairwise judge's verdicts on (output_1 = the better answer, output_2 = the
    worse), in alpaca_eval's convention (1: output_1 preferred, 2: output_2, 1.5: tie): P(better) = 2 - preference
    against P(worse) = preference - 1, scored as pair_outcomes does; None (no verdict) stays None."""
    return [None if p is None else pair_outcomes([(2.0 - p, p - 1.0)])[0] for p in preferences]


def position_consistency(flags: Sequence[bool | None]) -> dict:
    """How often both presentation orders picked the same answer, over the pairs with a verdict in both (``None``
    left out), with its Wilson interval."""
    known = [float(f) for f in flags if f is not None]
    return {"value": sum(known) / len(known) if known else None, "n_pairs": len(known), "ci95": wilson_interval(known)}


def wilson_interval(outcomes: Sequence[float]) -> tuple[float, float] | None:
    n = len(outcomes)
    if n == 0:
        return None
    k = sum(outcomes)
    low = stats.binomtest(math.floor(k), n).proportion_ci(0.95, method="wilson").low
    high = stats.binomtest(math.ceil(k), n).proportion_ci(0.95, method="wilson").high
    return float(low), float(high)


def auroc(positives: Sequence[float], negatives: Sequence[float]) -> float | None:
    """P(a positive is rated above a negative), ties counting half."""
    if not len(positives) or not len(negatives):
        return None
    u = stats.mannwhitneyu(positives, negatives, alternative="two-sided").statistic
    return _finite(u / (len(positives) * len(negatives)))


def _bootstrap_distribution(n_clusters: int, statistic: Callable[[np.ndarray], float], seed: int,
                            n_resamples: int) -> np.ndarray:
    """``statistic(cluster indices)`` over resampled clusters (``scipy.stats.bootstrap``); NaN where it is None."""
    def stat(idx):
        value = statistic(np.asarray(idx, dtype=int))
        return np.nan if value is None else value

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # degenerate resamples (e.g. constant ratings) give NaN, handled by callers
        result = stats.bootstrap((np.arange(n_clusters),), stat, vectorized=False, n_resamples=n_resamples,
                                 method="percentile", confidence_level=0.95, rng=np.random.default_rng(seed))
    return np.asarray(result.bootstrap_distribution, dtype=float)


def cluster_bootstrap(n_clusters: int, statistic: Callable[[np.ndarray], float],
                      seed: int = SEED, n_resamples: int = N_RESAMPLES, max_undefined: float = 0.1) -> tuple[float, float] | None:
    """95% percentile interval of ``statistic(cluster indices)`` over resampled clusters.

    A resample where the statistic is undefined (e.g. a rank correlation of constant means, when few clusters
    are drawn several times) is left out; None when more than ``max_undefined`` of them are, or fewer than 2 clusters.
    """
    if n_clusters < 2:
        return None
    values = _bootstrap_distribution(n_clusters, statistic, seed, n_resamples)
    if np.isnan(values).mean() > max_undefined:
        return None
    low, high = np.nanpercentile(values, [2.5, 97.5])
    return float(low), float(high)


def bootstrap_share(n_clusters: int, holds: Callable[[np.ndarray], bool | None], seed: int = SEED,
                    n_resamples: int = N_RESAMPLES) -> tuple[float | None, int]:
    """The share of resampled clusters in which ``holds(cluster indices)`` is true (None: undefined, left out), and
    how many resamples were defined; the same resampling as ``cluster_bootstrap``."""
    if n_clusters < 2:
        return None, 0
    values = _bootstrap_distribution(n_clusters, lambda idx: None if (h := holds(idx)) is None else float(h),
                                     seed, n_resamples)
    defined = int((~np.isnan(values)).sum())
    return (float(np.nanmean(values)) if defined else None), defined


def correlation(kind: str, x: Sequence[float], y: Sequence[float]) -> float | None:
    if len(x) < 3 or len(set(x)) < 2 or len(set(y)) < 2:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = (stats.spearmanr(x, y) if kind == "spearman" else stats.kendalltau(x, y)).statistic
    return _finite(value)


def correlation_pvalue(kind: str, x: Sequence[float], y: Sequence[float]) -> float | None:
    if correlation(kind, x, y) is None:
        return None
    return _finite((stats.spearmanr(x, y) if kind == "spearman" else stats.kendalltau(x, y)).pvalue)
