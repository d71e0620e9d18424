"""The expected rating from a judge's next-token probabilities right after "Rating: [[".

A greedy ``[[N]]`` throws away how sure the judge is (a small judge often writes 10 for everything); the
expectation E[rating] = sum_r r * P(r) keeps it. With Qwen's (and SmolLM2's) tokenizers every digit is its own
token, so "10" is two tokens: reading the distribution after the prefix (``first``) and again after the
prefix plus "1" (``after_one``),

    P(r)  = P(r | "[[")                                 r = 2..9 (the rating is taken to close after one digit)
    P(1)  = P("1" | "[[") * P(closing | "[[1")          closing: a token whose text starts with "]"
    P(10) = P("1" | "[[") * P("0" | "[[1")  (+ P("10" | "[[") where a tokenizer has "10" as one token)

then normalised over the ten ratings. Only the server's top-k log-probabilities are known; a rating token
outside them counts as probability 0. ``mass`` (the unnormalised total) says how much of the judge's
next-token probability went to a rating at all; below ``min_mass`` there is no rating (a parse failure).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

RATING_PREFIX = "Rating: [["
RATINGS = tuple(range(1, 11))


@dataclass
class RatingDistribution:
    probabilities: dict[int, float]  # normalised over RATINGS
    mass: float  # probability the judge put on some rating, before normalising
    expected: float | None  # None when mass < min_mass

    def summary(self) -> str:
        """The judge's 'raw text' for this judgment: the expectation and the distribution it came from."""
        dist = " ".join(f"{r}:{p:.3f}" for r, p in self.probabilities.items() if p >= 0.0005)
        value = "none" if self.expected is None else f"{self.expected:.3f}"
        return f"E[rating]={value} (mass {self.mass:.3f}; P: {dist})"


def _prob(top: dict[str, float], token: str) -> float:
    value = top.get(token)
    return math.exp(value) if value is not None and math.isfinite(value) else 0.0


def closing_probability(after_one: dict[str, float]) -> float:
    return sum(math.exp(lp) for token, lp in after_one.items() if token.startswith("]") and math.isfinite(lp))


def rating_distribution(first: dict[str, float], after_one: dict[str, float] | None,
                        min_mass: float = 0.01) -> RatingDistribution:
    """``first``/``after_one``: token text -> log-probability (the server's top-k) after "[[" and after "[[1"."""
    raw = {r: _prob(first, str(r)) for r in range(2, 10)}
    p_one = _prob(first, "1")
    if after_one is not None and p_one > 0:
        raw[1] = p_one * closing_probability(after_one)
        raw[10] = p_one * _prob(after_one, "0") + _prob(first, "10")
    else:  # no second look: "1" was not among the top-k, so neither 1 nor 10 (as "1","0") can be weighed
        raw[1] = 0.0
        raw[10] = _prob(first, "10")
    mass = sum(raw.values())
    if mass <= 0 or mass < min_mass:
        return RatingDistribution({r: 0.0 for r in RATINGS}, mass, None)
    probabilities = {r: raw[r] / mass for r in RATINGS}
    return RatingDistribution(probabilities, mass, sum(r * p for r, p in probabilities.items()))


def needs_second_look(first: dict[str, float]) -> bool:
    """Whether the prefix + "1" request is worth sending (it splits "1" into 1, 10 and out-of-scale 11..19)."""
    return _prob(first, "1") > 0


@dataclass
class PairDistribution:
    probabilities: dict[str, float]  # "A", "B", "C" (tie), normalised over the three labels
    mass: float  # probability the judge put on a label at all, before normalising

    @property
    def first_better(self) -> float | None:
        """P(assistant A's answer is better), a tie counting half; None without any label mass."""
        if self.mass <= 0:
            return None
        return self.probabilities["A"] + 0.5 * self.probabilities["C"]


def pair_distribution(first: dict[str, float], labels: tuple[str, ...] = ("A", "B", "C")) -> PairDistribution:
    """The verdict-label distribution from the top-k next-token log-probabilities right after "[["."""
    raw = {label: _prob(first, label) for label in labels}
    mass = sum(raw.values())
    if mass <= 0:
        return PairDistribution({label: 0.0 for label in labels}, 0.0)
    return PairDistribution({label: p / mass for label, p in raw.items()}, mass)
