"""The one place where a user's mistake (or the machine's state) becomes a single clear line and an exit code.

Library code raises specific exceptions whose messages already name the file, record and field; ``bench.cli``
turns the ones listed here into ``bench <command>: error: <message>`` on stderr and a non-zero exit code, and
shows a traceback only with ``--debug``. Anything else is a bug and keeps its traceback.
"""
from __future__ import annotations

import errno

# exit codes
USAGE = 2  # a bad argument, recipe, data file or results file
UNAVAILABLE = 3  # a model or data set that cannot be had here (offline, missing files)
DIVERGED = 4  # training produced non-finite values
ENVIRONMENT = 5  # disk full, read-only or unwritable cache, missing permissions

_ENVIRONMENT_ERRNOS = {errno.ENOSPC: "no space left on the device", errno.EROFS: "read-only file system",
                       errno.EACCES: "permission denied", errno.EPERM: "operation not permitted", errno.EDQUOT: "disk quota exceeded"}


def _user_error_types() -> dict[type, int]:
    from methods.examples import AlignmentError
    from methods.records import RecordError

    from bench.datasets import DataUnavailable
    from bench.evals.api import UnknownBenchmark
    from bench.models import ModelUnavailable
    from bench.pipeline.train_stage import NonFiniteTraining
    from bench.recipe import RecipeError
    from bench.results import ResultsError

    return {RecipeError: USAGE, ResultsError: USAGE, RecordError: USAGE, UnknownBenchmark: USAGE, AlignmentError: USAGE,
            ModelUnavailable: UNAVAILABLE, DataUnavailable: UNAVAILABLE, NonFiniteTraining: DIVERGED}


class UsageError(ValueError):
    """A bad command-line argument; raised by commands, reported like the others."""


def describe(err: BaseException) -> tuple[str, int] | None:
    """(one-line message, exit code) for a user or environment error; None for a bug."""
    if isinstance(err, UsageError):
        return str(err), USAGE
    if isinstance(err, OSError) and err.errno in _ENVIRONMENT_ERRNOS:
        where = err.filename or "a file"
        return f"{where}: {_ENVIRONMENT_ERRNOS[err.errno]} (free space, or point BENCH_CACHE_DIR / --out elsewhere)", ENVIRONMENT
    for kind, code in _user_error_types().items():
        if isinstance(err, kind):
            return str(err).strip(), code
    return None
