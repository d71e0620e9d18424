"""The recipe's ``eval`` section (the benchmarks of every evaluation stage, their limits, options and judges) and
``figure5`` (the hyper-parameter study's grids), checked against the registered benchmarks and judges."""
from __future__ import annotations

from dataclasses import dataclass, field

from bench.evals import BENCHMARKS, COMMON_OPTIONS
from bench.evals.open_llm import TASK_NAMES
from bench.judges import UnknownJudge, check_judge_id

from .fields import RecipeError, Section, check_integer


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
    try:
        check_judge_id(str(judge))
    except UnknownJudge as err:
        raise RecipeError(f"{where}: {err}") from None


def _open_llm_limits(limits: dict, where: str) -> None:
    for task, value in limits.items():
        if task not in TASK_NAMES:
            raise RecipeError(f"{where}.{task}: not an Open LLM task; choose from {', '.join(TASK_NAMES)}")
        check_integer(value, f"{where}.{task}", 1, nullable=True)


def _eval_options(options: dict, where: str) -> dict:
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
        wanted = s.raw("eval_benchmarks", None)
        return cls(s.numbers("alpha"), s.numbers("gamma"),
                   None if wanted is None else s.strings("eval_benchmarks", choices=list(BENCHMARKS)))
