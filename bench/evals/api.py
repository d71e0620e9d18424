"""The evaluation path in one call: ``evaluate(model, benchmarks, ...) -> list[BenchmarkResult]``.

Every benchmark shares one EvalContext (the model is loaded once, a judge server is started once) and the judges
are closed at the end, errors included. A benchmark that fails becomes a result whose one metric is missing with
the error as its reason (``details.failed``), and the others still run. After each benchmark, every metric gets its
95% interval from its per-item scores (bench.stats), unless the benchmark supplied one (e.g. alpaca_eval's own
standard error), and a metric's value must equal the mean of its item scores.
"""
from __future__ import annotations

import logging
import math
import time
import traceback
from pathlib import Path
from typing import Iterable, Mapping

from bench import stats
from bench.errors import BenchError
from bench.judges import close_judges
from bench.progress import Reporter
from bench.results.compare import clusters
from bench.results.schema import BenchmarkResult, MetricResult

from . import BENCHMARKS
from .base import EvalContext

log = logging.getLogger("bench.eval")


class UnknownBenchmark(BenchError, ValueError):
    pass


def benchmark_names(benchmarks: str | Iterable[str]) -> list[str]:
    """Names from a list or a comma-separated string, each checked against the registry."""
    names = [b.strip() for b in (benchmarks.split(",") if isinstance(benchmarks, str) else benchmarks) if b.strip()]
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        raise UnknownBenchmark(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    if not names:
        raise UnknownBenchmark(f"no benchmark named; choose from {', '.join(BENCHMARKS)}")
    return names


def with_interval(row: MetricResult) -> MetricResult:
    """Fill ``row.interval`` from its item scores (or its standard error); check value == mean(item scores)."""
    if row.value is None:
        return row
    if row.item_scores:
        scores = list(row.item_scores.values())
        mean = sum(scores) / len(scores)
        if not math.isclose(mean, row.value, rel_tol=1e-6, abs_tol=1e-9):
            raise AssertionError(f"{row.benchmark}/{row.metric}: value {row.value} is not the mean of its "
                                 f"{len(scores)} item scores ({mean})")
        if row.interval is None:  # items that share a prompt are resampled by prompt (bench.results.compare)
            found = clusters(row.benchmark, row.metric, row.item_scores)
            row.interval = stats.interval(scores, row.score_kind, [found[i] for i in row.item_scores] if found else None)
    elif row.interval is None and row.stderr is not None:
        row.interval = stats.normal_interval(row.value, row.stderr, "normal approximation from the reported standard error")
    return row


def _failed(name: str, err: Exception) -> BenchmarkResult:
    log.error("benchmark %s failed:\n%s", name, traceback.format_exc())
    row = MetricResult(name, "all", None, missing_reason=f"failed: {type(err).__name__}: {err}",
                       details={"error": traceback.format_exc(limit=5), "failed": True})
    return BenchmarkResult(name, [row])


def evaluate(model_spec: str, benchmarks: str | Iterable[str], *, data_dir=None, out_dir="eval-out",
             limit: int | Mapping[str, int | None] | None = None, seed: int = 42, judge: str | None = None,
             profile: str = "embedded", options: dict | None = None, reporter: Reporter | None = None) -> list[BenchmarkResult]:
    """Run ``benchmarks`` on one model. ``limit``: first N items of every benchmark, or benchmark -> N."""

    names = benchmark_names(benchmarks)
    ctx = EvalContext(model_spec=str(model_spec), data_dir=Path(data_dir) if data_dir else None, out_dir=Path(out_dir),
                      seed=seed, judge=judge, options={"profile": profile, **(options or {})},
                      reporter=reporter or Reporter())
    results: list[BenchmarkResult] = []
    try:
        for name in names:
            ctx.limit = limit.get(name) if isinstance(limit, Mapping) else limit
            started = time.monotonic()
            try:
                result = BENCHMARKS[name].run(ctx)
                result.metrics = [with_interval(row) for row in result.metrics]
            except Exception as err:  # noqa: BLE001 - one failing benchmark must not lose the others
                result = _failed(name, err)
            result.seconds = round(time.monotonic() - started, 1)
            for row in result.metrics:
                row.details.setdefault("profile", profile)
                row.details.setdefault("wall_time_s", result.seconds)
            results.append(result)
    finally:
        close_judges(ctx)
    return results


def raised(results: Iterable[BenchmarkResult]) -> list[str]:
    """Benchmarks that raised (a missing data directory, a judge server that died): a stage evaluates them again."""
    return [r.benchmark for r in results if any(row.details.get("failed") for row in r.metrics)]


def failed(results: Iterable[BenchmarkResult]) -> list[str]:
    """Benchmarks that raised, or whose every judged metric lost all its judgments."""
    results = list(results)
    lost = set(raised(results))
    return [r.benchmark for r in results if r.benchmark in lost
            or (r.metrics and all(row.value is None and row.n_failures > 0 for row in r.metrics))]
