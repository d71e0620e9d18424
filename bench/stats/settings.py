"""The statistics' fixed settings: level, resamples, permutations, the minimum sizes, the seed."""

LEVEL = 0.95
ALPHA = 1 - LEVEL
RESAMPLES = 10_000  # bootstrap resamples
PERMUTATIONS = 9_999  # Monte-Carlo sign vectors of the permutation test (p = (1 + hits) / (1 + PERMUTATIONS))
EXACT_UP_TO = 13  # up to 2^13 = 8192 sign vectors the test enumerates them all (exact p)
MIN_PAIRED = 6  # paired units below which no test at 5% can reject: "too few items"
MIN_BCA = 20  # resampling units below which the bootstrap interval is percentile, not BCa
SEED = 0  # every bootstrap and Monte-Carlo test uses this seed: the same items give the same answer on every machine
_BATCH_CELLS = 4_000_000  # sign-matrix entries per vectorised batch: bounds memory for large n
