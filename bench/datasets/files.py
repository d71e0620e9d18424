"""Reading a local data file (JSONL, gzipped JSONL, JSON, Parquet) into a list of records, directly.

Read here rather than through ``datasets.load_dataset``: that copies every local file into its own cache under
``~/.cache/huggingface`` (outside BENCH_CACHE_DIR) and reports a malformed line as an Arrow error without its
place. A file that cannot be read is a ``DataFileError`` naming the file and, where there is one, the line
(JSONL) or the record (JSON, Parquet), and what to do about it.
"""
from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path
from typing import Iterable

from .base import DataFileError

FIX = "re-export it as UTF-8 JSON Lines, one object per line"


def read_records(path: str | Path) -> list[dict]:
    """Every record of a local data file; the format follows the name (.jsonl, .jsonl.gz, .json, .parquet)."""
    path = Path(path)
    name = path.name.lower()
    if name.endswith(".parquet"):
        rows = _parquet(path)
    elif name.endswith(".jsonl.gz"):
        rows = _jsonl_gz(path)
    elif name.endswith(".json"):
        rows = _json(path)
    else:
        rows = _jsonl_lines(path, _numbered(path.read_bytes().splitlines()))
    if not rows:
        raise DataFileError(f"{path}: no records (the file is empty); {FIX}")
    return rows


def _numbered(lines: Iterable[bytes]) -> Iterable[tuple[int, bytes]]:
    return enumerate(lines, 1)


def _jsonl_lines(path: Path, lines: Iterable[tuple[int, bytes]]) -> list[dict]:
    rows = []
    for number, raw in lines:
        if not raw.strip():
            continue
        rows.append(_record(path, f"line {number}", _json_line(path, number, raw)))
    return rows


def _json_line(path: Path, number: int, raw: bytes):
    if b"\x00" in raw:
        raise DataFileError(f"{path}: line {number}: binary data (NUL bytes), not JSON text; {FIX}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise DataFileError(f"{path}: line {number}: not UTF-8 text (byte 0x{raw[err.start]:02x} at column {err.start + 1}; "
                            f"a Latin-1 or Windows-1252 file?); {FIX}") from None
    try:
        return json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as err:
        raise DataFileError(f"{path}: line {number}: not valid JSON ({err.msg}: column {err.colno}; a truncated "
                            f"line?); {FIX}") from None
    except ValueError as err:
        raise DataFileError(f"{path}: line {number}: {err}") from None


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON value")


def _record(path: Path, where: str, value) -> dict:
    if not isinstance(value, dict):
        raise DataFileError(f"{path}: {where}: expected a JSON object (one record), got {type(value).__name__}")
    return value


def _jsonl_gz(path: Path) -> list[dict]:
    """Decompressed line by line, so a truncated archive still names the last line it could read."""
    last = 0

    def lines():
        nonlocal last
        with gzip.open(path, "rb") as handle:
            for last, raw in enumerate(handle, 1):
                yield last, raw

    try:
        return _jsonl_lines(path, lines())
    except gzip.BadGzipFile as err:
        raise DataFileError(f"{path}: not a gzip file ({err}); compress it with gzip, or name it .jsonl") from None
    except EOFError:
        raise DataFileError(f"{path}: the gzip stream ends early after line {last} (a truncated download or copy?); "
                            "fetch or compress it again") from None
    except zlib.error as err:
        raise DataFileError(f"{path}: corrupt gzip data after line {last} ({err}); fetch or compress it again") from None


def _json(path: Path) -> list[dict]:
    """A JSON array of records (or, as `datasets` also accepts, JSON Lines in a .json file)."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise DataFileError(f"{path}: line {line}: not UTF-8 text (byte 0x{raw[err.start]:02x}); {FIX}") from None
    if not text.strip():
        return []
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as err:
        if err.msg == "Extra data":  # several values: JSON Lines under a .json name
            return _jsonl_lines(path, _numbered(raw.splitlines()))
        raise DataFileError(f"{path}: line {err.lineno}: not valid JSON ({err.msg}: column {err.colno}); "
                            "expected an array of records") from None
    except ValueError as err:
        raise DataFileError(f"{path}: {err}") from None
    if isinstance(value, dict):
        return [value]
    if not isinstance(value, list):
        raise DataFileError(f"{path}: expected an array of records, got {type(value).__name__}")
    return [_record(path, f"record {i}", row) for i, row in enumerate(value)]


def _parquet(path: Path) -> list[dict]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as err:
        if isinstance(err, OSError) and err.errno is not None:
            raise  # the machine's problem (permissions, I/O), not the file's format
        reason = str(err).replace(f"Could not open Parquet input source '{path}': ", "")
        raise DataFileError(f"{path}: not a readable Parquet file ({reason}); write it with pandas/pyarrow "
                            "(DataFrame.to_parquet) or use JSON Lines") from None
    return table.to_pylist()
