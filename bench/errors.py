"""The one place where a user's mistake (or the machine's state) becomes a single clear line and an exit code.

Library code raises specific exceptions whose messages already name the file, record and field, each a subclass of
``BenchError`` (or, in ``methods``, which knows nothing of bench, of ``methods.errors.MethodInputError``); ``bench.cli``
turns them into ``bench <command>: error: <message>`` on stderr and a non-zero exit code, and
shows a traceback only with ``--debug``. Anything else is a bug and keeps its traceback.
"""
from __future__ import annotations

import errno
import logging
import os
import re
import sys

from methods.errors import MethodInputError

# exit codes
USAGE = 2  # a bad argument, recipe, data file or results file
UNAVAILABLE = 3  # a model or data set that cannot be had here (offline, missing files)
DIVERGED = 4  # training produced non-finite values
ENVIRONMENT = 5  # disk full, read-only or unwritable cache, missing permissions

_ENVIRONMENT_ERRNOS = {errno.ENOSPC: "no space left on the device", errno.EROFS: "read-only file system",
                       errno.EACCES: "permission denied", errno.EPERM: "operation not permitted", errno.EDQUOT: "disk quota exceeded"}
_PATH_ERRNOS = {errno.ENOTDIR: "a part of this path is a file, not a folder", errno.EISDIR: "is a folder, not a file",
                errno.ENAMETOOLONG: "file name too long"}
_OS_ERROR_IN_TEXT = re.compile(r"\(os error (\d+)\)")  # how Rust libraries (safetensors, tokenizers) report one


class BenchError(Exception):
    """Base of every error a user can cause or mend (a bad file, recipe or argument; a model that cannot be had here;
    a diverged training run). The contract: its message is ONE line that names the file, record and field (or the
    model, the stage) and what is wrong, so ``bench.cli`` can print it as it is; ``exit_code`` says which kind.

    Each module defines its own subclasses where it raises them (``bench.recipe.RecipeError``,
    ``bench.models.ModelUnavailable``, ...), usually also deriving from the builtin they stand for (``ValueError``,
    ``RuntimeError``) so that existing ``except ValueError`` handlers still see them. This module imports none of
    them: the CLI maps any ``BenchError`` by its ``exit_code``."""

    exit_code = USAGE


class UsageError(BenchError, ValueError):
    """A bad command-line argument; raised by commands, reported like the others."""


def with_path(err: BaseException, where: str | os.PathLike) -> BaseException:
    """``err`` as an OSError naming ``where`` when it is a disk-full / read-only / permission error that names no
    file: a ``write()`` fails without a file name, and safetensors reports ``(os error 28)`` in a plain Exception.
    Anything else comes back unchanged. Writers wrap their writes with this so the user learns which path."""
    code = err.errno if isinstance(err, OSError) else None
    if code is None:
        match = _OS_ERROR_IN_TEXT.search(str(err))
        code = int(match.group(1)) if match else None
    if code not in _ENVIRONMENT_ERRNOS or (isinstance(err, OSError) and err.filename):
        return err
    named = OSError(code, os.strerror(code), str(where))
    named.__cause__ = err
    return named


def describe(err: BaseException) -> tuple[str, int] | None:
    """(one-line message, exit code) for a user or environment error; None for a bug."""
    if isinstance(err, (BenchError, MethodInputError)):
        return str(err).strip(), err.exit_code
    if isinstance(err, OSError) and err.errno in _ENVIRONMENT_ERRNOS:
        where = err.filename or "a file"
        return f"{where}: {_ENVIRONMENT_ERRNOS[err.errno]} (free space, or point BENCH_CACHE_DIR / --out elsewhere)", ENVIRONMENT
    if isinstance(err, OSError) and err.errno in _PATH_ERRNOS and err.filename:
        return f"{err.filename}: {_PATH_ERRNOS[err.errno]}", USAGE
    return None


class TerminalWarnings(logging.Handler):
    """Our warnings (skipped or dropped records, a replaced results entry) on stderr as ``warning: ...``, besides
    run.log: a user reading the terminal must see them too. Warnings only: errors are reported by ``describe``, and
    a logged traceback stays in run.log. Writes to the current ``sys.stderr`` (tests capture it)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.addFilter(lambda record: record.levelno == logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        print(f"warning: {record.getMessage()}", file=sys.stderr)


def show_warnings_on_terminal() -> None:
    logger = logging.getLogger("bench")
    if not any(isinstance(h, TerminalWarnings) for h in logger.handlers):
        logger.addHandler(TerminalWarnings())
