"""The results: one schema (``schema``: metrics, samples), one document (``entries``: the evaluated models;
``validation``: what a valid file is; ``document``: load / save / merge) and the paired comparisons derived from it
(``compare``). Evaluators build it, the pipeline saves it, every view (tables, plots, the HTML report) reads only it."""
from .document import RESULTS_FILENAME, load_results, merge_results, results_to_dict, save_results, update_results_file
from .entries import MAIN_STUDY, SCHEMA, TEACHER_ROWS, CurvePoint, Entry, Results, ResultsError, known_methods
from .schema import BINARY, CONTINUOUS, BenchmarkResult, Interval, MetricResult, Sample, finite_or_none
from .validation import parse_results

__all__ = ["BINARY", "CONTINUOUS", "MAIN_STUDY", "RESULTS_FILENAME", "SCHEMA", "TEACHER_ROWS", "BenchmarkResult",
           "CurvePoint", "Entry", "Interval", "MetricResult", "Results", "ResultsError", "Sample", "finite_or_none",
           "known_methods", "load_results", "merge_results", "parse_results", "results_to_dict", "save_results",
           "update_results_file"]
