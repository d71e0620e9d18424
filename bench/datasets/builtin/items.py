"""The built-in data's items: a prompt with its constraints and answers, a two-turn prompt, and the whole data set
of one seed."""
from __future__ import annotations

from dataclasses import dataclass

from .catalogue import Constraint


@dataclass(frozen=True)
class PromptItem:
    id: str
    split: str  # "train" | "test"
    topic: str
    question: str
    constraints: tuple[Constraint, ...]
    prompt: str  # the whole user message
    reference: str  # satisfies every constraint
    rejected: str  # fails at least one

    @property
    def messages(self) -> list[dict]:
        return [{"role": "user", "content": self.prompt}]

    def to_dict(self) -> dict:
        return {"id": self.id, "split": self.split, "topic": self.topic, "question": self.question,
                "constraints": [c.to_dict() for c in self.constraints], "prompt": self.prompt,
                "reference": self.reference, "rejected": self.rejected}


@dataclass(frozen=True)
class Turn:
    prompt: str
    constraints: tuple[Constraint, ...]  # everything the answer to this turn must satisfy
    reference: str


@dataclass(frozen=True)
class TwoTurnItem:
    id: str
    topic: str
    question: str
    change: str  # "add": turn 2 adds a constraint; "change": turn 2 replaces one
    turns: tuple[Turn, Turn]

    def to_dict(self) -> dict:
        return {"id": self.id, "topic": self.topic, "question": self.question, "change": self.change,
                "turns": [{"prompt": t.prompt, "constraints": [c.to_dict() for c in t.constraints],
                           "reference": t.reference} for t in self.turns]}


@dataclass(frozen=True)
class BuiltinData:
    seed: int
    version: str
    train: tuple[PromptItem, ...]
    test: tuple[PromptItem, ...]
    two_turn: tuple[TwoTurnItem, ...]

    @property
    def data_version(self) -> str:
        return f"{self.version}+seed{self.seed}"
