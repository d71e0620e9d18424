"""Where a judge's files are named: its judgment cache and its judge-check result are both keyed by its id."""
from __future__ import annotations

import re


def judge_file_stem(judge_id: str) -> str:
    """A judge id as a file name (its judgment cache, its judge-check result): unsafe characters to ``_``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", judge_id)[:120]
