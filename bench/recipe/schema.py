"""A recipe, typed: every field of bench/recipe/profiles/*.yaml, documented and checked when the recipe loads, so a
typo or an impossible value fails before any stage runs, naming the field.

Sections: ``data`` (where pairs and SFT conversations come from, how many), ``lengths``, ``topk`` (teacher
distributions), ``generation`` (student samples), ``advantages`` (ADPA), ``training`` (defaults of every training
stage) and ``stages`` (per-stage overrides, keyed by stage: the two teacher stages and every registered method),
``precision``, ``eval`` (benchmarks of every evaluation stage) and ``figure5`` (the hyper-parameter study's grids).
Each section is typed in its own module (sections.py, training.py, evaluation.py); this one puts them together.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from methods.precision import Precision, PrecisionError
from methods.registry import METHODS, PAPER_METHODS

from .evaluation import EvalConfig, Figure5Config
from .fields import RecipeError, Section
from .sections import AdvantagesConfig, DataConfig, GenerationConfig, LengthsConfig, TopKConfig
from .training import TRAINING_FIELDS, TrainingConfig

TEACHER_STAGES = ("ref_teacher", "dpo_teacher")


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
    return [name for name in METHODS if name not in PAPER_METHODS]


def _check_method_settings(stage: str, settings: dict, where: str) -> None:
    """A method's own settings (LossConfig.settings) through its typed Settings; the teacher stages and the paper's
    methods take none."""
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
    return [*TEACHER_STAGES, *METHODS]
