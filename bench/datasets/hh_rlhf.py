"""Anthropic HH-RLHF (harmless-base) preference pairs.

Read from ``<data_dir>/hh_rlhf/harmless-base-{train,test}.jsonl.gz`` (fields ``chosen`` / ``rejected``:
"\\n\\nHuman: ...\\n\\nAssistant: ..." transcripts), else from the hub (``Anthropic/hh-rlhf``, data_dir
``harmless-base``) when online. When only the test file is present (as in the project's shared data folder),
``train`` is its first 90% and ``test`` its last 10%, and a warning says so. Pairs whose transcripts do not
convert (e.g. an empty final turn) are skipped and counted in a warning. No SFT conversations: the pipeline
trains SFT on the chosen answers.
"""
from __future__ import annotations

import logging
from pathlib import Path

from methods.records import from_hh

from . import register
from .base import DataSource, DataUnavailable
from .files import read_records
from .local_files import convert_all, offline

log = logging.getLogger("bench.datasets")

HUB_ID = "Anthropic/hh-rlhf"
SUBSET = "harmless-base"
TRAIN_FRACTION = 0.9


def _file(data_dir: Path | None, split: str) -> Path | None:
    if data_dir is None:
        return None
    path = Path(data_dir) / "hh_rlhf" / f"{SUBSET}-{split}.jsonl.gz"
    return path if path.is_file() else None


def _read(path: Path) -> list[dict]:
    return read_records(path)  # a malformed file is a DataFileError naming it and the line


def convert(rows: list[dict], where: str) -> list[dict]:
    return convert_all(rows, lambda row, i: from_hh(row.get("chosen"), row.get("rejected"), where, i), where)


class HHRLHF(DataSource):
    name = "hh_rlhf"
    description = "Anthropic HH-RLHF harmless-base preference pairs (local copy in the data directory, or the hub)"
    kinds = ("preference",)

    def availability(self, data_dir: Path | None = None) -> str | None:
        if _file(data_dir, "test") or _file(data_dir, "train") or not offline():
            return None
        return (f"data set 'hh_rlhf' ({HUB_ID}) is not available offline: put {SUBSET}-train.jsonl.gz and/or "
                f"{SUBSET}-test.jsonl.gz in <data_dir>/hh_rlhf/ and pass --data-dir DIR or BENCH_DATA_DIR=DIR")

    def _rows(self, split: str, data_dir: Path | None) -> list[dict]:
        if split not in self.splits:
            raise ValueError(f"dataset 'hh_rlhf' has splits {self.splits}, not {split!r}")
        own = _file(data_dir, split)
        if own:
            return _read(own)
        test_only = _file(data_dir, "test")
        if split == "train" and test_only:
            log.warning("hh_rlhf: no train file in %s; training on the first %d%% of the test file", test_only.parent, int(TRAIN_FRACTION * 100))
            rows = _read(test_only)
            return rows[: int(len(rows) * TRAIN_FRACTION)]
        if offline():
            raise DataUnavailable(self.availability(None) or "hh_rlhf unavailable")
        import datasets

        try:
            return list(datasets.load_dataset(HUB_ID, data_dir=SUBSET, split=split))
        except Exception as err:  # noqa: BLE001
            raise DataUnavailable(f"hh_rlhf: could not load {HUB_ID} ({SUBSET}, {split}) from the hub: {type(err).__name__}: {err}") from None

    def preference(self, split: str = "train", data_dir: Path | None = None) -> list[dict]:
        rows = self._rows(split, data_dir)
        if split == "test" and _file(data_dir, "train") is None and _file(data_dir, "test") is not None:
            rows = rows[int(len(rows) * TRAIN_FRACTION):]  # the held-out tail of the test-only copy
        return convert(rows, f"hh_rlhf:{split}")


register(HHRLHF())
