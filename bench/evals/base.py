"""What every benchmark takes (an EvalContext) and returns (a BenchmarkResult: metrics and per-item samples).

A metric that could not be measured keeps ``value=None`` and says why in ``missing_reason``: never a 0. Where a
benchmark scores items one by one it returns the per-item scores (``item_scores``); intervals and paired
comparisons are computed from them by bench.evals.api and bench.results, never by the benchmark itself.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from methods.precision import Precision

from bench.models import load_model, load_tokenizer
from bench.progress import Reporter, Task
from bench.results.schema import BenchmarkResult, MetricResult, Sample  # noqa: F401 - re-exported for benchmarks


@dataclass
class EvalContext:
    model_spec: str  # alias, hub id or local folder
    data_dir: Path | None = None
    out_dir: Path = Path("eval-out")  # answers, judgments and caches of this evaluation
    limit: int | None = None  # evaluate the first N items only (quick runs)
    seed: int = 42
    judge: str | None = None  # judge id; each benchmark has a per-profile default
    options: dict[str, Any] = field(default_factory=dict)
    reporter: Reporter = field(default_factory=Reporter, repr=False)
    _loaded: dict = field(default_factory=dict, repr=False)

    def model_and_tokenizer(self):
        """Loaded once per context and shared by every benchmark (frozen: the precision policy's frozen dtype)."""
        if "model" not in self._loaded:
            self._loaded["tokenizer"] = load_tokenizer(self.model_spec)
            self._loaded["model"] = load_model(self.model_spec, "frozen", self.precision)
        return self._loaded["model"], self._loaded["tokenizer"]

    @property
    def precision(self):
        """The precision policy (option ``precision``, a recipe's ``precision`` mapping; default ``Precision()``):
        every model an evaluation runs (the evaluated one, its reference, a reward model) gets its frozen dtype."""
        return Precision.from_dict(self.options.get("precision"))

    def option(self, benchmark: str, name: str, default):
        """``<benchmark>.<name>`` overrides ``<name>``: one options dict serves every benchmark."""
        return self.options.get(f"{benchmark}.{name}", self.options.get(name, default))

    def progress(self, label: str, total: int, unit: str) -> contextlib.AbstractContextManager[Task]:
        return self.reporter.task(label, total, unit)

    @property
    def model_id(self) -> str:
        """The name exports give this model (FastChat's model_id, alpaca_eval's generator): the caller's
        ``model_id`` option (the pipeline passes student-method-seed), else the model folder's name."""
        return str(self.options.get("model_id") or Path(str(self.model_spec)).name)


@dataclass(frozen=True)
class Benchmark:
    name: str
    description: str
    run: Callable[[EvalContext], BenchmarkResult]
    options: tuple[str, ...] = ()  # the option names it reads (recipes are checked against them)
    # The folder of the data directory it cannot run without (checked before a run trains anything); None: none.
    data: str | None = None


# Options every benchmark may receive (set by bench eval / the pipeline, read by the judges and exports).
COMMON_OPTIONS = ("profile", "model_id", "reference_model", "precision", "judge", "judge_api_key_env", "judge_cache_dir",
                  "judge_timeout", "judge_retries", "judge_rating", "judge_threads", "judge_max_tokens")

