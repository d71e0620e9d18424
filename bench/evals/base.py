"""What every benchmark takes and returns.

A benchmark is run on one model with an EvalContext and returns MetricResult rows. A row whose value
could not be measured keeps ``value=None`` and says why in ``missing_reason``: never a 0.
Rows are plain data (``to_dict``) and go into the results JSON that every table and plot reads.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from bench.results.schema import BenchmarkResult, MetricResult, Sample, finite_or_none  # noqa: F401 - re-exported


@dataclass
class EvalContext:
    model_spec: str  # alias, hub id or local folder
    data_dir: Path | None = None
    out_dir: Path = Path("eval-out")  # answers, judgments and caches of this evaluation
    limit: int | None = None  # evaluate the first N items only (quick runs)
    seed: int = 42
    judge: str | None = None  # judge id; each benchmark has a per-profile default
    options: dict[str, Any] = field(default_factory=dict)
    _loaded: dict = field(default_factory=dict, repr=False)

    def model_and_tokenizer(self):
        """Loaded once per context and shared by every benchmark."""
        if "model" not in self._loaded:
            from bench.models import load_model, load_tokenizer

            self._loaded["tokenizer"] = load_tokenizer(self.model_spec)
            self._loaded["model"] = load_model(self.model_spec)
        return self._loaded["model"], self._loaded["tokenizer"]


@dataclass(frozen=True)
class Benchmark:
    name: str
    description: str
    run: Callable[[EvalContext], list[MetricResult]]
