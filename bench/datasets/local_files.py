"""Reading a hub data set's split from the data directory, or from the hub through `datasets`.

Expected local file names: ``<data_dir>/<folder>/<split>.<ext>`` with ext one of ``jsonl``, ``jsonl.gz``,
``json``, ``parquet`` (the ``split`` named as on the hub, e.g. ``train_sft`` for Deita-10k). A local file wins
over the hub and is read directly (bench.datasets.files: a malformed file is an error naming file and line); offline (HF_HUB_OFFLINE=1) with no local file is DataUnavailable naming the data set and the
file it looked for.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

from methods.records import RecordError

from .base import DataUnavailable
from .files import read_records

log = logging.getLogger("bench.datasets")

EXTENSIONS = ("jsonl", "jsonl.gz", "json", "parquet")


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes") or os.environ.get("HF_DATASETS_OFFLINE", "0").lower() in ("1", "true", "yes")


def local_file(data_dir: Path | None, folder: str, split: str) -> Path | None:
    if data_dir is None:
        return None
    for ext in EXTENSIONS:
        path = Path(data_dir) / folder / f"{split}.{ext}"
        if path.is_file():
            return path
    return None


def how_to_supply(name: str, hub_id: str, folder: str, splits: tuple[str, ...]) -> str:
    files = ", ".join(f"<data_dir>/{folder}/{s}.jsonl (or .jsonl.gz / .parquet)" for s in splits)
    return (f"data set '{name}' ({hub_id}) is not available offline: put {files} in a data directory and pass it with "
            f"--data-dir DIR or BENCH_DATA_DIR=DIR (e.g. datasets.load_dataset('{hub_id}', split=S).to_json(...) where "
            "there is network), or unset HF_HUB_OFFLINE")


def availability(name: str, hub_id: str, folder: str, splits: tuple[str, ...], data_dir: Path | None) -> str | None:
    if all(local_file(data_dir, folder, s) for s in splits):
        return None
    if offline():
        return how_to_supply(name, hub_id, folder, splits)
    return None


def load_rows(name: str, hub_id: str, folder: str, split: str, data_dir: Path | None) -> list[dict]:
    path = local_file(data_dir, folder, split)
    if path is not None:
        return read_records(path)
    if offline():
        raise DataUnavailable(how_to_supply(name, hub_id, folder, (split,)))
    import datasets

    try:
        return list(datasets.load_dataset(hub_id, split=split))
    except Exception as err:  # noqa: BLE001 - network, auth or a missing split all mean "not obtainable here"
        raise DataUnavailable(f"data set '{name}' ({hub_id}, split {split}) could not be loaded from the hub: "
                              f"{type(err).__name__}: {err}. {how_to_supply(name, hub_id, folder, (split,))}") from None


def convert_all(rows, convert, name: str) -> list[dict]:
    """Convert every row with ``convert(row, index)``; rows that fail are skipped and counted in one warning."""
    out, skipped, first = [], 0, None
    for i, row in enumerate(rows):
        try:
            out.append(convert(row, i))
        except RecordError as err:
            skipped += 1
            first = first or err
    if skipped:
        log.warning("%s: skipped %d of %d records that do not convert (first: %s)", name, skipped, len(rows), first)
    return out
