"""The built-in data set's exact verifier as a judge: a rating in [0, 1] and its rationale, no model involved."""
from __future__ import annotations

from typing import Sequence

from bench.datasets.builtin import gold_judgement

from .base import Judge, Rating, RatingRequest


class GoldJudge(Judge):
    id = "gold"
    kind = "verifier"

    def __init__(self) -> None:
        super().__init__()
        self.settings = {"verifier": "bench.datasets.builtin.gold_judgement", "scale": "0..1"}

    def rate(self, requests: Sequence[RatingRequest], progress=None) -> list[Rating]:
        out = []
        for request in requests:
            try:
                score, rationale = gold_judgement(request.item, request.response or "")
                out.append(Rating(None if score is None else float(score), rationale))
            except Exception as err:  # noqa: BLE001 - counted as a judge failure, never fatal
                self.stats.add(request_failures=1)
                out.append(Rating(None, None, f"verifier: {type(err).__name__}: {err}"))
            if progress:
                progress(1)
        return out
