"""The recipe's data-side sections: ``data`` (where pairs and SFT conversations come from, how many), ``lengths``,
``topk`` (teacher distributions), ``generation`` (student samples) and ``advantages`` (ADPA)."""
from __future__ import annotations

from dataclasses import dataclass, field

from bench.datasets import SOURCES

from .fields import RecipeError, Section


@dataclass(frozen=True)
class DataConfig:
    source: str = "builtin"  # preference pairs: train split for training, test split for held-out metrics
    sft_source: str = "builtin"  # SFT conversations (a source without them gives its pairs' chosen answers)
    train_limit: int | None = None  # first N pairs for the students (null: all)
    teacher_train_limit: int | None = None  # first N pairs for the teacher's own DPO (null: the same as train_limit)
    test_limit: int | None = None
    sft_limit: int | None = None
    estimate: dict = field(default_factory=dict)  # token counts for dry-run estimates when the data is not loaded

    @classmethod
    def read(cls, s: Section) -> "DataConfig":
        names = list(SOURCES)
        return cls(s.string("source", "builtin", choices=names), s.string("sft_source", "builtin", choices=names),
                   s.integer("train_limit", None, minimum=1, nullable=True),
                   s.integer("teacher_train_limit", None, minimum=1, nullable=True),
                   s.integer("test_limit", None, minimum=1, nullable=True),
                   s.integer("sft_limit", None, minimum=1, nullable=True), s.mapping("estimate"))


@dataclass(frozen=True)
class LengthsConfig:
    max_length: int  # prompt + response tokens; responses are cut to fit
    max_prompt_length: int  # a longer prompt skips its record (counted in the run log)

    @classmethod
    def read(cls, s: Section) -> "LengthsConfig":
        out = cls(s.integer("max_length", required=True, minimum=2), s.integer("max_prompt_length", required=True, minimum=1))
        if out.max_prompt_length >= out.max_length:
            raise RecipeError(f"{s.where('max_prompt_length')}: must be below max_length ({out.max_length}), got {out.max_prompt_length}")
        return out


@dataclass(frozen=True)
class TopKConfig:
    k: int = 50  # teacher entries kept per response token (plus one tail bin)
    max_tokens: int = 4096  # padded tokens per precompute batch

    @classmethod
    def read(cls, s: Section) -> "TopKConfig":
        return cls(s.integer("k", 50, minimum=1), s.integer("max_tokens", 4096, minimum=1))


@dataclass(frozen=True)
class GenerationConfig:
    max_new_tokens: int = 256  # of each student sample (ADPA's "rejected" side); greedy
    batch_size: int = 8

    @classmethod
    def read(cls, s: Section) -> "GenerationConfig":
        return cls(s.integer("max_new_tokens", 256, minimum=1), s.integer("batch_size", 8, minimum=1))


@dataclass(frozen=True)
class AdvantagesConfig:
    # A(a) = log p_dpo(a) - log p_baseline(a): the baseline is the reference teacher (the paper) or the student that
    # generated the samples (the released README: student_init).
    baseline: str = "ref_teacher"  # ref_teacher | student_init
    # p_baseline of a token outside the baseline's own top-K: the baseline's smallest top-K probability (this
    # project), the DPO teacher's (the released code: dpo_min), or the baseline's exact probability.
    floor: str = "baseline_min"  # baseline_min | dpo_min | exact

    RENAMED = {"reference": "baseline", "ref_floor": "floor"}

    @classmethod
    def read(cls, s: Section) -> "AdvantagesConfig":
        for old, new in cls.RENAMED.items():
            if old in s.data:
                raise RecipeError(f"{s.where(old)}: renamed; use {s.where(new)} (values: see bench/recipe/schema.py)")
        return cls(s.string("baseline", "ref_teacher", choices=("ref_teacher", "student_init")),
                   s.string("floor", "baseline_min", choices=("baseline_min", "dpo_min", "exact")))
