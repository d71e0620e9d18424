"""The results: one schema (``schema``: metrics, samples), one document (``document``: entries of evaluated models,
validated load / save / merge) and the paired comparisons derived from it (``compare``). Evaluators build it,
the pipeline saves it, every view (tables, plots, the HTML report) reads only it."""
from .document import (MAIN_STUDY, RESULTS_FILENAME, SCHEMA, TEACHER_ROWS, CurvePoint, Entry, Results, ResultsError,
                       known_methods, load_results, merge_results, parse_results, results_to_dict, save_results,
                       update_results_file)
from .schema import BINARY, CONTINUOUS, BenchmarkResult, Interval, MetricResult, Sample, finite_or_none

__all__ = ["BINARY", "CONTINUOUS", "MAIN_STUDY", "RESULTS_FILENAME", "SCHEMA", "TEACHER_ROWS", "BenchmarkResult",
           "CurvePoint", "Entry", "Interval", "MetricResult", "Results", "ResultsError", "Sample", "finite_or_none",
           "known_methods", "load_results", "merge_results", "parse_results", "results_to_dict", "save_results",
           "update_results_file"]
