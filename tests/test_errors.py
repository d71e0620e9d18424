"""Issue 22, errors owned where they are raised: each module's user errors subclass bench.errors.BenchError (or, in
methods, methods.errors.MethodInputError) and carry their exit code; bench.errors maps any of them to
(one-line message, exit code) without knowing their classes, and anything else stays a bug (None)."""
from __future__ import annotations

import errno

import pytest

from methods.errors import MethodInputError
from methods.examples import AlignmentError
from methods.records import RecordError

from bench.datasets import DataFileError, DataUnavailable
from bench.errors import DIVERGED, ENVIRONMENT, UNAVAILABLE, USAGE, BenchError, UsageError, describe
from bench.evals.api import UnknownBenchmark
from bench.models import BadModelFolder, ModelUnavailable
from bench.pipeline.runner import StageSelectionError
from bench.pipeline.train_stage import NonFiniteTraining
from bench.recipe import RecipeError
from bench.results import ResultsError

# The exit codes these errors had when bench.errors imported each class by name (before issue 22).
EXPECTED = {RecipeError: USAGE, ResultsError: USAGE, RecordError: USAGE, UnknownBenchmark: USAGE,
            AlignmentError: USAGE, DataFileError: USAGE, BadModelFolder: USAGE, UsageError: USAGE,
            StageSelectionError: USAGE, ModelUnavailable: UNAVAILABLE, DataUnavailable: UNAVAILABLE,
            NonFiniteTraining: DIVERGED}


def _make(kind: type) -> BaseException:
    return kind("f.jsonl", 3, "prompt", "empty") if kind is RecordError else kind("data.json: entries[2]: value: bad")


@pytest.mark.parametrize("kind", list(EXPECTED), ids=lambda k: k.__name__)
def test_each_module_error_keeps_its_exit_code_and_one_line(kind):
    err = _make(kind)
    message, code = describe(err)
    assert code == EXPECTED[kind]
    assert message == str(err).strip() and "\n" not in message
    assert isinstance(err, BenchError if not issubclass(kind, MethodInputError) else MethodInputError)


def test_builtin_bases_are_kept_for_existing_handlers():
    """`except ValueError` / `except RuntimeError` around library calls still catch them."""
    assert issubclass(RecipeError, ValueError) and issubclass(ResultsError, ValueError)
    assert issubclass(RecordError, ValueError) and issubclass(AlignmentError, ValueError)
    assert issubclass(ModelUnavailable, RuntimeError) and issubclass(NonFiniteTraining, RuntimeError)


def test_a_new_error_needs_no_entry_in_bench_errors():
    class Elsewhere(BenchError, ValueError):
        exit_code = UNAVAILABLE

    assert describe(Elsewhere("model 'x': not here  ")) == ("model 'x': not here", UNAVAILABLE)


def test_bugs_and_environment_errors():
    assert describe(ValueError("a bug")) is None
    assert describe(KeyError("a bug")) is None
    message, code = describe(OSError(errno.ENOSPC, "No space left on device", "/tmp/x"))
    assert code == ENVIRONMENT and message.startswith("/tmp/x: no space left on the device")
