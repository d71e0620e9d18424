"""One topic of the phrase bank: a title, the questions a user asks about it and fluent answer sentences."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    key: str
    title: str  # used for <<titles>> and JSON "title" values
    questions: tuple[str, ...]
    sentences: tuple[str, ...]
