from __future__ import annotations

from pathlib import Path

from bench.errors import UNAVAILABLE, BenchError


class DataUnavailable(BenchError, RuntimeError):
    """A data set cannot be had here; the message names it and how to supply a local copy."""

    exit_code = UNAVAILABLE


class DataFileError(BenchError, ValueError):
    """A local data file that cannot be read (empty, not UTF-8, not JSON, a broken archive or Parquet file); the
    message names the file and the line or record."""


class DataSource:
    """A named data set. Subclasses implement the kinds they offer."""

    name: str = ""
    description: str = ""
    kinds: tuple[str, ...] = ("preference", "sft")
    splits: tuple[str, ...] = ("train", "test")

    def preference(self, split: str = "train", data_dir: Path | None = None) -> list[dict]:
        raise DataUnavailable(f"dataset '{self.name}' has no preference pairs")

    def sft(self, split: str = "train", data_dir: Path | None = None) -> list[dict]:
        raise DataUnavailable(f"dataset '{self.name}' has no SFT conversations")

    def availability(self, data_dir: Path | None = None) -> str | None:
        """None when the data can be loaded here, else why not and how to fix it."""
        return None
