"""Argument types shared by the subcommands' parsers: a value that makes no sense is refused while parsing, in one line
(``bench eval: error: argument --limit: must be a whole number >= 1, got 0``), before anything runs."""
from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Callable

_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def whole_number(minimum: int, note: str = "") -> Callable[[str], int]:
    """An int >= ``minimum``; ``note`` says what to do instead (e.g. "omit it for every item")."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"must be a whole number >= {minimum}{f' ({note})' if note else ''}, got {text!r}")
        return value
    parse.__name__ = f"whole number >= {minimum}"
    return parse


def output_folder(text: str) -> Path:
    """A folder to write into: created when missing, but an existing file of that name is a mistake."""
    path = Path(text).expanduser()
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is a file, not a folder")
    return path


def existing_folder(text: str) -> Path:
    """A folder to read from (e.g. --data-dir): a typo is refused here, not reported later as missing data."""
    path = Path(text).expanduser()
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{path}: {'a file, not a folder' if path.exists() else 'no such folder'}")
    return path


def output_file(text: str) -> Path:
    """A file to write: an existing folder of that name is a mistake."""
    path = Path(text).expanduser()
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is a folder; name a file")
    return path


def plain_name(text: str) -> str:
    """A file-name stem: letters, digits, '.', '_' and '-', not starting with '.' or '-'."""
    if not _PLAIN_NAME.fullmatch(text):
        raise argparse.ArgumentTypeError(f"must be a plain file name (letters, digits, '.', '_', '-'; no folders), got {text!r}")
    return text
