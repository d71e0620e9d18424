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

from .intervals import (bootstrap_mean, interval, is_binary, logit_interval, normal_interval,
                        stratified_bootstrap_mean, wilson, win_rate_interval)
from .paired import TOO_FEW, Paired, detectable_difference, holm, mcnemar_pvalues, mean_std, paired
from .permutation import sign_flip_pvalues
from .settings import ALPHA, EXACT_UP_TO, LEVEL, MIN_BCA, MIN_PAIRED, PERMUTATIONS, RESAMPLES, SEED

__all__ = ["ALPHA", "EXACT_UP_TO", "LEVEL", "MIN_BCA", "MIN_PAIRED", "PERMUTATIONS", "RESAMPLES", "SEED", "TOO_FEW",
           "Paired", "bootstrap_mean", "detectable_difference", "holm", "interval", "is_binary", "logit_interval",
           "mcnemar_pvalues", "mean_std", "normal_interval", "paired", "sign_flip_pvalues",
           "stratified_bootstrap_mean", "wilson", "win_rate_interval"]
