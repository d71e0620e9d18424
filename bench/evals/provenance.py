"""What every result row records: data versions, chat template, and atomic JSON/JSONL writes."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


def file_version(path: Path, chars: int = 12) -> str:
    """``<file name>@sha256:<prefix>`` identifies the exact data file used."""
    return f"{Path(path).name}@sha256:{hashlib.sha256(Path(path).read_bytes()).hexdigest()[:chars]}"


def chat_template_id(tokenizer) -> str:
    from methods.tokenize import FALLBACK_CHAT_TEMPLATE

    template = getattr(tokenizer, "chat_template", None) or ""
    digest = hashlib.sha256(template.encode()).hexdigest()[:12]
    if template == FALLBACK_CHAT_TEMPLATE:
        return f"bench fallback template (sha256:{digest})"
    kind = "ChatML" if "<|im_start|>" in template else "model's own"
    return f"{kind} (sha256:{digest})"


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp, path)


def progress_bar() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=True)


def require_file(path: Path, what: str) -> Path:
    if not path.is_file():
        raise FileNotFoundError(f"{what}: {path} not found (set --data-dir / BENCH_DATA_DIR to the shared data folder)")
    return path
