"""Benchmarks: name -> Benchmark, and ``evaluate()``, the one call that runs them (bench.evals.api).

Each benchmark module registers itself; adding a benchmark is one module plus its name in _MODULES."""
from __future__ import annotations

import importlib

from .base import COMMON_OPTIONS, Benchmark, BenchmarkResult, EvalContext, MetricResult

BENCHMARKS: dict[str, Benchmark] = {}
_MODULES = ("gold", "heldout", "reward", "mt_bench", "alpaca_eval", "open_llm")


def register(benchmark: Benchmark) -> Benchmark:
    BENCHMARKS[benchmark.name] = benchmark
    return benchmark


def get_benchmark(name: str) -> Benchmark:
    if name not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {name!r}; choose from: {', '.join(BENCHMARKS)}")
    return BENCHMARKS[name]


for _module in _MODULES:
    importlib.import_module(f"{__name__}.{_module}")

from .api import evaluate  # noqa: E402 - after the registry it reads

__all__ = ["BENCHMARKS", "COMMON_OPTIONS", "Benchmark", "BenchmarkResult", "EvalContext", "MetricResult", "evaluate", "get_benchmark",
           "register"]
