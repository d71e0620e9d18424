"""`builtin`: the embedded default data set of instructions with checkable constraints (in the spirit of IFEval).

Everything is generated from a seed by this project (phrase bank in bank.py), offline, in about a second:
preference pairs and SFT data for training, held-out test prompts with reference answers, two-turn prompts,
and an exact verifier (strict and loose, as IFEval scores) that also serves as the ``gold`` judge.

    from bench.datasets import builtin
    items = builtin.test_prompts()              # held-out PromptItems with constraints and references
    verdict = builtin.verify(items[0], answer)  # Verdict(strict, loose, failed, ...)
    score, why = builtin.gold_judgement(items[0], answer)
"""
from __future__ import annotations

from pathlib import Path

from methods.records import validate_all

from .. import register
from ..base import DataSource
from .catalogue import CONFLICTS, KINDS, Constraint
from .generate import DEFAULT_SEED, DEFAULT_SIZES, GENERATOR_VERSION, build
from .items import BuiltinData, PromptItem, Turn, TwoTurnItem
from .judge import GOLD_JUDGE_ID, gold_judgement, verify
from .verify import Verdict, verify_constraints


def train_items(seed: int = DEFAULT_SEED, n_train: int = DEFAULT_SIZES["n_train"]) -> tuple[PromptItem, ...]:
    return build(seed, n_train=n_train).train


def test_prompts(seed: int = DEFAULT_SEED, n_test: int = DEFAULT_SIZES["n_test"]) -> tuple[PromptItem, ...]:
    """Held-out prompts (questions never used in training) with constraints and reference answers."""
    return build(seed, n_train=0, n_test=n_test).test  # the test split does not depend on the training size


test_prompts.__test__ = False  # pytest must not collect it when a test module imports it by name
heldout_prompts = test_prompts


def two_turn_prompts(seed: int = DEFAULT_SEED, n_two_turn: int = DEFAULT_SIZES["n_two_turn"]) -> tuple[TwoTurnItem, ...]:
    return build(seed, n_train=0, n_two_turn=n_two_turn).two_turn


def preference_record(item: PromptItem) -> dict:
    return {"prompt": item.messages, "chosen": [{"role": "assistant", "content": item.reference}],
            "rejected": [{"role": "assistant", "content": item.rejected}]}


def sft_record(item: PromptItem) -> dict:
    return {"messages": item.messages + [{"role": "assistant", "content": item.reference}]}


class BuiltinSource(DataSource):
    name = "builtin"
    description = ("embedded default: generated instructions with checkable constraints (IFEval-style), "
                   "preference pairs, SFT data, held-out and two-turn prompts, exact verifier; offline")

    def __init__(self, seed: int = DEFAULT_SEED, **sizes: int):
        self.seed = seed
        self.sizes = {**DEFAULT_SIZES, **sizes}

    def data(self) -> BuiltinData:
        return build(self.seed, **self.sizes)

    def _items(self, split: str) -> tuple[PromptItem, ...]:
        if split not in self.splits:
            raise ValueError(f"dataset 'builtin': unknown split {split!r}; choose one of {', '.join(self.splits)}")
        data = self.data()
        return data.train if split == "train" else data.test

    def preference(self, split: str = "train", data_dir: Path | None = None) -> list[dict]:
        return validate_all([preference_record(i) for i in self._items(split)], "preference", f"builtin:{split}")

    def sft(self, split: str = "train", data_dir: Path | None = None) -> list[dict]:
        return validate_all([sft_record(i) for i in self._items(split)], "sft", f"builtin:{split}")


register(BuiltinSource())

__all__ = ["BuiltinSource", "BuiltinData", "PromptItem", "TwoTurnItem", "Turn", "Constraint", "Verdict", "KINDS",
           "CONFLICTS", "GENERATOR_VERSION", "GOLD_JUDGE_ID", "DEFAULT_SEED", "DEFAULT_SIZES", "build", "train_items", "test_prompts", "heldout_prompts",
           "two_turn_prompts", "verify", "verify_constraints", "gold_judgement", "preference_record", "sft_record"]
