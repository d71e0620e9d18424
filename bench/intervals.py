"""What a 95% interval is, and the two kinds of item scores that intervals and paired tests are computed from.

The results schema (bench.results.schema) carries these, and the statistics (bench.stats) produce them; they live
below both so that neither has to import the other's package.
"""
from __future__ import annotations

from dataclasses import dataclass

BINARY = "binary"  # every item scores 0 or 1 (pass/fail, correct/wrong): Wilson intervals, sign tests
CONTINUOUS = "continuous"  # any real item score (judge ratings, rewards, win 0/0.5/1): bootstrap intervals
SCORE_KINDS = (BINARY, CONTINUOUS)


@dataclass
class Interval:
    low: float
    high: float
    method: str  # e.g. "wilson", "bootstrap percentile (10000 resamples, seed 0)", "normal from alpaca_eval's standard error"
    level: float = 0.95

    def to_dict(self) -> dict:
        return {"low": self.low, "high": self.high, "level": self.level, "method": self.method}
