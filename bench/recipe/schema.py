"""A recipe, typed: every field of bench/recipe/profiles/*.yaml, documented and checked when the recipe loads, so a
typo or an impossible value fails before any stage runs, naming the field.

Sections: ``data`` (where pairs and SFT conversations come from, how many), ``lengths``, ``topk`` (teacher
distributions), ``generation`` (student samples), ``advantages`` (ADPA), ``training`` (defaults of every training
stage) and ``stages`` (per-stage overrides, keyed by stage: the two teacher stages and every registered method),
``precision``, ``eval`` (benchmarks of every evaluation stage) and ``figure5`` (the hyper-parameter study's grids).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from methods.precision import Precision, PrecisionError

from .fields import RecipeError, Section, check_integer

TEACHER_STAGES = ("ref_teacher", "dpo_teacher")
SCHEDULERS = ("linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup",
              "inverse_sqrt", "cosine_with_min_lr", "warmup_stable_decay")
MAX_LEARNING_RATE = 1.0  # Adam-family steps above this only diverge; the paper's rates are 5e-7 to 2e-5


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
        from bench.datasets import SOURCES

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


TRAINING_FIELDS = ("learning_rate", "epochs", "batch_size", "grad_accum", "warmup_ratio", "scheduler", "max_steps",
                   "loss", "checkpoints", "allow_nonfinite")


@dataclass(frozen=True)
class TrainingConfig:
    learning_rate: float | None = None
    epochs: float = 1.0  # 0: the stage saves its starting model as it is (no training)
    batch_size: int = 1  # per device
    grad_accum: int = 1
    warmup_ratio: float = 0.1
    scheduler: str = "cosine"
    max_steps: int = -1  # > 0 overrides epochs
    checkpoints: int = 0  # weights saved at step 0 and N evenly spaced steps, for training curves
    allow_nonfinite: bool = False  # a non-finite loss or gradient stops the stage unless this is true
    loss: dict = field(default_factory=dict)  # methods.base.LossConfig fields

    @classmethod
    def read(cls, s: Section, defaults: "TrainingConfig | None" = None) -> "TrainingConfig":
        d = defaults or cls()
        out = cls(s.number("learning_rate", d.learning_rate, low=0.0, low_open=True, high=MAX_LEARNING_RATE, nullable=True),
                  s.number("epochs", d.epochs, low=0.0), s.integer("batch_size", d.batch_size, minimum=1),
                  s.integer("grad_accum", d.grad_accum, minimum=1), s.number("warmup_ratio", d.warmup_ratio, low=0.0, high=1.0),
                  s.string("scheduler", d.scheduler, choices=SCHEDULERS), s.integer("max_steps", d.max_steps, minimum=-1),
                  s.integer("checkpoints", d.checkpoints, minimum=0), s.boolean("allow_nonfinite", d.allow_nonfinite),
                  {**d.loss, **s.mapping("loss")})
        _check_loss(out.loss, s.where("loss"))
        return out

    def to_dict(self) -> dict:
        return asdict(self)


def _check_loss(loss: dict, where: str) -> None:
    from methods.base import LossConfig

    for key, value in loss.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise RecipeError(f"{where}.{key}: expected a finite number, got {value!r}")
    try:
        LossConfig.from_dict(loss)
    except (ValueError, TypeError) as err:
        raise RecipeError(f"{where}: {err}") from None


@dataclass(frozen=True)
class EvalConfig:
    heldout: bool = True  # the judge-free held-out metrics (chosen NLL, pair accuracy)
    benchmarks: list[str] = field(default_factory=list)  # bench.evals.BENCHMARKS names
    limit: int | dict | None = None  # first N items of every benchmark, or benchmark -> N
    options: dict = field(default_factory=dict)  # benchmark options (each benchmark documents its own)
    judges: dict = field(default_factory=dict)  # benchmark -> judge id (default: the profile's judge)
    curves: dict | None = None  # {benchmark, metric}: that metric of each checkpoint a stage saves

    @classmethod
    def read(cls, s: Section) -> "EvalConfig":
        from bench.evals import BENCHMARKS

        benchmarks = s.strings("benchmarks", [], choices=list(BENCHMARKS))
        limit = s.raw("limit", None)
        if isinstance(limit, dict):
            for name, value in limit.items():
                if name not in BENCHMARKS:
                    raise RecipeError(f"{s.where('limit')}.{name}: not a benchmark; choose from {', '.join(BENCHMARKS)}")
                if name == "open_llm" and isinstance(value, dict):  # per task: {winogrande: 100, ...}
                    _open_llm_limits(value, f"{s.where('limit')}.open_llm")
                else:
                    check_integer(value, f"{s.where('limit')}.{name}", 1, nullable=True)
        else:
            check_integer(limit, s.where("limit"), 1, nullable=True)
        judges = s.mapping("judges")
        for name, judge in judges.items():
            if name not in BENCHMARKS:
                raise RecipeError(f"{s.where('judges')}.{name}: not a benchmark; choose from {', '.join(BENCHMARKS)}")
            _check_judge(judge, f"{s.where('judges')}.{name}")
        curves = s.raw("curves", None)
        if curves is not None:
            c = Section(curves, s.where("curves"), ("benchmark", "metric"))
            c.string("benchmark", required=True, choices=list(BENCHMARKS))
            c.string("metric", required=True)
        return cls(s.boolean("heldout", True), benchmarks, limit, _eval_options(s.mapping("options"), s.where("options")),
                   judges, curves)


def _check_judge(judge, where: str) -> None:
    from bench.judges import UnknownJudge, check_judge_id

    try:
        check_judge_id(str(judge))
    except UnknownJudge as err:
        raise RecipeError(f"{where}: {err}") from None


def _open_llm_limits(limits: dict, where: str) -> None:
    from bench.evals.open_llm import TASK_NAMES

    for task, value in limits.items():
        if task not in TASK_NAMES:
            raise RecipeError(f"{where}.{task}: not an Open LLM task; choose from {', '.join(TASK_NAMES)}")
        check_integer(value, f"{where}.{task}", 1, nullable=True)


def _eval_options(options: dict, where: str) -> dict:
    from bench.evals import BENCHMARKS, COMMON_OPTIONS

    known = set(COMMON_OPTIONS) | {o for b in BENCHMARKS.values() for o in b.options}
    for key in options:
        bench, _, name = key.rpartition(".")
        allowed = set(COMMON_OPTIONS) | set(BENCHMARKS[bench].options) if bench in BENCHMARKS else known
        if name not in allowed or (bench and bench not in BENCHMARKS):
            raise RecipeError(f"{where}.{key}: unknown evaluation option; known: {', '.join(sorted(known))}")
    return options


@dataclass(frozen=True)
class Figure5Config:
    alpha: list[float] = field(default_factory=list)  # DCKD's KL weight grid
    gamma: list[float] = field(default_factory=list)  # ADPA's advantage weight grid
    eval_benchmarks: list[str] | None = None  # what the sweep runs evaluate (default: the recipe's eval.benchmarks)

    @classmethod
    def read(cls, s: Section) -> "Figure5Config":
        from bench.evals import BENCHMARKS

        wanted = s.raw("eval_benchmarks", None)
        return cls(s.numbers("alpha"), s.numbers("gamma"),
                   None if wanted is None else s.strings("eval_benchmarks", choices=list(BENCHMARKS)))


@dataclass(frozen=True)
class Recipe:
    profile: str
    description: str
    student: str  # model alias, hub id or folder
    teacher: str
    seed: int
    data: DataConfig
    lengths: dict[str, LengthsConfig]  # "sft" and "pairs"
    topk: TopKConfig
    generation: GenerationConfig
    advantages: AdvantagesConfig
    training: TrainingConfig
    stages: dict[str, TrainingConfig]  # stage name -> its training settings (defaults already merged in)
    eval: EvalConfig
    figure5: Figure5Config = field(default_factory=Figure5Config)
    students: dict[str, dict] = field(default_factory=dict)  # student -> {teacher: ...}
    precision: Precision = field(default_factory=Precision)  # methods.precision: dtypes per role, autocast
    source: str = ""  # the file it was read from
    # Registered methods beyond the paper's five (methods.registry: distillm2, gkd, simpo) that `--method all` and
    # `bench reproduce` add as extra table rows; empty by default, so the default table keeps its time budget.
    extra_methods: list[str] = field(default_factory=list)

    def stage(self, name: str) -> TrainingConfig:
        """A training stage's settings; a stage that trains needs a learning rate (checked when a plan uses it)."""
        if name not in self.stages:
            raise RecipeError(f"stages.{name}: this recipe has no settings for stage {name!r}")
        config = self.stages[name]
        if config.learning_rate is None and (config.epochs > 0 or config.max_steps > 0):
            raise RecipeError(f"{self.source}: stages.{name}.learning_rate: missing (neither the stage nor training sets one)")
        return config

    def teacher_for(self, student: str, teacher: str | None = None) -> str:
        if teacher:
            return teacher
        return (self.students.get(student) or {}).get("teacher") or self.teacher

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "source"}


RECIPE_FIELDS = ("profile", "description", "student", "teacher", "students", "seed", "data", "lengths", "topk",
                 "generation", "advantages", "training", "stages", "eval", "figure5", "precision", "extra_methods")


def read_recipe(data: Any, source: str) -> Recipe:
    s = Section(data, "", RECIPE_FIELDS)
    training = TrainingConfig.read(s.section("training", TRAINING_FIELDS))
    stages_section = s.section("stages", _stage_names())
    stages = {name: TrainingConfig.read(stages_section.section(name, TRAINING_FIELDS), training) for name in _stage_names()}
    for name, config in stages.items():
        _check_method_settings(name, config.loss.get("settings", {}), f"stages.{name}.loss.settings")
    lengths = s.section("lengths", ("sft", "pairs"))
    students = s.mapping("students")
    for name, spec in students.items():
        Section(spec, f"students.{name}", ("teacher",)).string("teacher", required=True)
    return Recipe(
        profile=s.string("profile", required=True), description=str(s.raw("description", "") or ""),
        student=s.string("student", required=True), teacher=s.string("teacher", required=True),
        seed=s.integer("seed", 42, minimum=0), data=DataConfig.read(s.section("data")),
        lengths={k: LengthsConfig.read(lengths.section(k, ("max_length", "max_prompt_length"), required=True)) for k in ("sft", "pairs")},
        topk=TopKConfig.read(s.section("topk", ("k", "max_tokens"))),
        generation=GenerationConfig.read(s.section("generation", ("max_new_tokens", "batch_size"))),
        advantages=AdvantagesConfig.read(s.section("advantages", ("baseline", "floor", *AdvantagesConfig.RENAMED))),
        training=training, stages=stages, eval=EvalConfig.read(s.section("eval", (
            "heldout", "benchmarks", "limit", "options", "judges", "curves"))),
        figure5=Figure5Config.read(s.section("figure5", ("alpha", "gamma", "eval_benchmarks"))),
        students=students, precision=read_precision(s.mapping("precision")), source=source,
        extra_methods=s.strings("extra_methods", [], choices=_extra_method_names()))


def _extra_method_names() -> list[str]:
    from methods.registry import METHODS, PAPER_METHODS

    return [name for name in METHODS if name not in PAPER_METHODS]


def _check_method_settings(stage: str, settings: dict, where: str) -> None:
    """A method's own settings (LossConfig.settings) through its typed Settings; the teacher stages and the paper's
    methods take none."""
    from methods.registry import METHODS

    method = METHODS.get(stage)
    if method is None or method.Settings is None:
        if settings:
            raise RecipeError(f"{where}: stage {stage!r} takes no method settings, got {sorted(settings)}")
        return
    try:
        method.settings(settings)
    except (ValueError, TypeError) as err:
        raise RecipeError(f"{where}: {err}") from None


def read_precision(values: dict) -> Precision:
    """The ``precision`` section through the policy's own validation (its messages name ``precision.<field>``)."""
    try:
        return Precision.from_dict(values)
    except (PrecisionError, TypeError) as err:
        raise RecipeError(str(err)) from None


def _stage_names() -> list[str]:
    from methods.registry import METHODS

    return [*TEACHER_STAGES, *METHODS]
