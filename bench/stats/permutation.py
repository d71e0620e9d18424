"""The sign-flip permutation test of a mean paired difference, vectorised, and the interval that inverts it."""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from bench.intervals import Interval

from .settings import _BATCH_CELLS, ALPHA, EXACT_UP_TO, PERMUTATIONS, SEED


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


def inverted_interval(totals: np.ndarray, sizes: np.ndarray) -> tuple[float, Interval]:
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
