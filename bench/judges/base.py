"""The judge interface: one id, the settings that change its verdicts, and two questions it may answer.

A judge rates one answer (``rate``: prompt -> rating or None, raw text) and, where it can, prefers one of
two answers (``prefer``). A failure is never an exception to the caller: it comes back as ``rating=None``
with ``error`` set, and the judge counts it in ``stats``.
"""
from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Sequence

from bench.errors import UNAVAILABLE, BenchError

from .agreement import load_agreement


class JudgeUnavailable(BenchError, RuntimeError):
    """The judge can answer no more requests (its server died or never started): stop the evaluation with this
    message instead of recording the same failure for every remaining judgment."""

    exit_code = UNAVAILABLE


@dataclass
class RatingRequest:
    messages: list[dict] | None = None  # chat prompt for model judges
    item: Any = None  # benchmark item, for verifier judges (gold)
    response: str | None = None  # the answer being judged, for verifier judges
    scale: tuple[float, float] | None = None  # the prompt's rating scale; None: the judge's own (1..10 for chat judges)


@dataclass
class Rating:
    rating: float | None  # None: the judge failed or its output could not be parsed
    raw: str | None  # the judge's own text (or a verifier's rationale)
    error: str | None = None  # "request: ..." (no answer) or "parse: ..." (answer without a rating)


@dataclass
class PairRequest:
    instruction: str
    output_1: str
    output_2: str
    reference: str | None = None  # a reference answer the judge may consult (MT-Bench math/reasoning/coding)
    prompt: str | None = None  # a named variant of FastChat's pairwise prompt (protocols.PAIR_VARIANTS), e.g. the HH check's


@dataclass
class Preference:
    preference: float | None  # alpaca_eval convention: 1 = output_1 better, 2 = output_2 better, 1.5 = tie
    raw: str | None = None
    error: str | None = None
    consistent: bool | None = None  # both presentation orders picked the same answer (judges that ask both)


@dataclass
class JudgeStats:
    requests_sent: int = 0  # HTTP requests (retries included)
    cache_hits: int = 0
    retries: int = 0
    request_failures: int = 0  # no usable answer after every retry
    parse_failures: int = 0  # an answer without a rating
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for key, value in counts.items():
                setattr(self, key, getattr(self, key) + value)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}


class Judge(ABC):
    """Base class; subclasses set ``id`` and ``settings`` and implement ``rate``."""

    id: str = "judge"
    kind: str = "judge"

    def __init__(self) -> None:
        self.settings: dict[str, Any] = {}
        self.stats = JudgeStats()

    def describe(self) -> dict:
        """What every result row records about its judge, with its agreement with reference judgments when
        `bench judge-check` measured it under these settings (reports footnote it)."""
        out = {"id": self.id, "kind": self.kind, "settings": dict(self.settings)}
        agreement = load_agreement(self.id, self.settings)
        if agreement:
            out["agreement"] = agreement
        return out

    @abstractmethod
    def rate(self, requests: Sequence[RatingRequest], progress=None) -> list[Rating]:
        """Single-answer ratings, in request order."""

    def prefer(self, requests: Sequence[PairRequest], progress=None) -> list[Preference]:
        raise NotImplementedError(f"judge {self.id!r} does not compare pairs of answers")

    @property
    def supports_pairs(self) -> bool:
        return type(self).prefer is not Judge.prefer

    def close(self) -> None:
        """Release servers or models the judge holds."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
