"""Benchmarks: name -> Benchmark. Each benchmark module registers itself; missing modules are skipped."""
from __future__ import annotations

import importlib

from .base import Benchmark, EvalContext, MetricResult

BENCHMARKS: dict[str, Benchmark] = {}
_MODULES = ("mt_bench", "alpaca_eval", "open_llm", "reward", "gold")


def register(benchmark: Benchmark) -> Benchmark:
    BENCHMARKS[benchmark.name] = benchmark
    return benchmark


def get_benchmark(name: str) -> Benchmark:
    if name not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {name!r}; choose from: {', '.join(BENCHMARKS)}")
    return BENCHMARKS[name]


for _module in _MODULES:
    try:
        importlib.import_module(f"{__name__}.{_module}")
    except ModuleNotFoundError as _err:
        if _err.name != f"{__name__}.{_module}":
            raise

__all__ = ["BENCHMARKS", "Benchmark", "EvalContext", "MetricResult", "register", "get_benchmark"]
