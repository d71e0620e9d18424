"""Atomic writes: every file and folder this project writes goes through here.

A file is written to a temporary name in its own folder and renamed into place, so a reader (or a run resumed
after ``kill -9``) never sees half of it. The temporary file gets the permissions a plain ``open()`` would give
(0666 less the umask), not ``mkstemp``'s 0600: reports are meant to be copied and served. JSON is strict: a NaN or
infinity is a bug in the caller (``bench.results.finite_or_none`` is how evaluators avoid it), never written.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator

from bench.errors import with_path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        named = with_path(err, path)  # a failed write() names no file: say which one
        if named is err:
            raise
        raise named from err
    return path


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, mode: str = "wb") -> Iterator:
    """A file handle to write ``path`` in pieces (e.g. a large download); renamed into place when the block
    succeeds, removed when it raises (the block may raise to refuse what it wrote, e.g. a hash mismatch)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def json_text(payload: Any, indent: int | None = 2, default=str) -> str:
    """Strict JSON (``allow_nan=False``): a non-finite number raises here instead of reaching a reader."""
    return json.dumps(payload, indent=indent, ensure_ascii=False, allow_nan=False, default=default) + "\n"


def write_json(path: str | os.PathLike, payload: Any, indent: int | None = 2, default=str) -> Path:
    return atomic_write_text(path, json_text(payload, indent, default))


def write_jsonl(path: str | os.PathLike, rows: Iterable[dict], default=str) -> Path:
    return atomic_write_text(path, "".join(json_text(row, None, default) for row in rows))


def reject_constant(name: str):
    raise ValueError(f"{name} is not allowed in strict JSON (write null; a metric that was not measured says why in missing_reason)")


def read_json(path: str | os.PathLike) -> Any:
    """Strict JSON from a file: NaN/Infinity are refused like any other syntax error."""
    return json.loads(Path(path).read_text(encoding="utf-8"), parse_constant=reject_constant)


@contextlib.contextmanager
def atomic_directory(target: str | os.PathLike) -> Iterator[Path]:
    """Build a folder under a temporary name next to ``target`` and rename it into place when the block succeeds;
    on any error the temporary folder is removed. If ``target`` appeared meanwhile (a concurrent build won), ours
    is discarded and theirs kept."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if target.exists():
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        os.replace(tmp, target)
