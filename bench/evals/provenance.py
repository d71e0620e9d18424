"""What every result row records about its inputs: data file versions and the chat template."""
from __future__ import annotations

import hashlib
from pathlib import Path

from methods.tokenize import FALLBACK_CHAT_TEMPLATE


def file_version(path: Path, chars: int = 12) -> str:
    """``<file name>@sha256:<prefix>`` identifies the exact data file used."""
    return f"{Path(path).name}@sha256:{hashlib.sha256(Path(path).read_bytes()).hexdigest()[:chars]}"


def chat_template_id(tokenizer) -> str:
    template = getattr(tokenizer, "chat_template", None) or ""
    digest = hashlib.sha256(template.encode()).hexdigest()[:12]
    if template == FALLBACK_CHAT_TEMPLATE:
        return f"bench fallback template (sha256:{digest})"
    kind = "ChatML" if "<|im_start|>" in template else "model's own"
    return f"{kind} (sha256:{digest})"


def require_file(path: Path, what: str) -> Path:
    if not path.is_file():
        raise FileNotFoundError(f"{what}: {path} not found (set --data-dir / BENCH_DATA_DIR to the shared data folder)")
    return path
