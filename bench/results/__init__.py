"""The results schema (bench.results.schema): built by evaluators, saved by the pipeline, read by every view."""
from .schema import BINARY, CONTINUOUS, BenchmarkResult, Interval, MetricResult, Sample, finite_or_none

__all__ = ["BINARY", "CONTINUOUS", "BenchmarkResult", "Interval", "MetricResult", "Sample", "finite_or_none"]
