"""Data sources: name -> DataSource. Each source lives in its own module and registers itself here.

A source returns validated records (see methods.records): preference pairs and SFT conversations,
per split ("train" / "test"). Hub-backed sources read from the data directory when offline.
"""
from __future__ import annotations

import importlib
import os
from pathlib import Path

from .base import DataFileError, DataSource, DataUnavailable

SOURCES: dict[str, DataSource] = {}

# Modules that define sources; a module missing from this checkout is skipped.
_SOURCE_MODULES = ("builtin", "hh_rlhf", "hub")


def register(source: DataSource) -> DataSource:
    SOURCES[source.name] = source
    return source


def data_dir(explicit: str | os.PathLike | None = None) -> Path | None:
    """--data-dir, else BENCH_DATA_DIR, else None (hub only)."""
    value = explicit or os.environ.get("BENCH_DATA_DIR")
    return Path(value).expanduser() if value else None


def data_folder(explicit: str | os.PathLike | None, folder: str, who: str) -> Path:
    """``folder`` of the data directory, for a reader that cannot run without it (``who`` names it in the error)."""
    root = data_dir(explicit)
    if root is None:
        raise FileNotFoundError(f"{who} needs the data directory: pass --data-dir or set BENCH_DATA_DIR")
    return root / folder


def get_source(name: str) -> DataSource:
    if name not in SOURCES:
        raise ValueError(f"unknown dataset {name!r}; choose one of: {' '.join(SOURCES)}")
    return SOURCES[name]


for _module in _SOURCE_MODULES:
    try:
        importlib.import_module(f"{__name__}.{_module}")
    except ModuleNotFoundError as _err:
        if _err.name != f"{__name__}.{_module}":
            raise

__all__ = ["DataFileError", "DataSource", "DataUnavailable", "SOURCES", "register", "data_dir", "get_source"]
