"""A local judge's tokenizer and chat template, read from its GGUF by transformers and cached as a folder.

The expected-rating mode renders prompts itself (to begin the judge's reply with "Rating: [["), so it needs the
same chat template the server's chat endpoint uses: the ``tokenizer.chat_template`` of the GGUF's metadata.
"""
from __future__ import annotations

import functools
from pathlib import Path

from bench.models import cache_dir
from bench.models.folders import _atomic_folder


@functools.lru_cache(maxsize=4)
def gguf_tokenizer(gguf: Path):
    from transformers import AutoTokenizer

    gguf = Path(gguf)

    def build(folder: Path) -> None:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        if not getattr(tokenizer, "chat_template", None):
            raise ValueError(f"{gguf}: the GGUF has no tokenizer.chat_template; the expected-rating mode needs one")
        tokenizer.save_pretrained(folder)
        (folder / "config.json").write_text("{}")  # marks the folder complete for _atomic_folder

    size = gguf.stat().st_size
    folder = _atomic_folder(cache_dir() / "models" / f"{gguf.stem}-{size}-tokenizer", build)
    # transformers warns about the pre-tokenizer regex of GGUF-converted Qwen tokenizers; only the chat template
    # is used here (the server tokenizes), so the warning says nothing about these judgments.
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        return AutoTokenizer.from_pretrained(folder)
    finally:
        hf_logging.set_verbosity(level)
