"""Shared test setup: offline, a session cache for models, the shared data directory."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("BENCH_DATA_DIR", str((ROOT.parent / "shared" / "data").resolve()))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = Path(os.environ["BENCH_DATA_DIR"])
    if not path.is_dir():
        pytest.fail(f"BENCH_DATA_DIR={path} does not exist; point it at the shared data folder")
    return path


@pytest.fixture(scope="session")
def tokenizer():
    from bench.models import load_tokenizer

    return load_tokenizer("tiny-random")


@pytest.fixture()
def tiny_model():
    """A fresh copy of the tiny random student (tests may train it)."""
    import torch

    from bench.models import load_model

    torch.manual_seed(0)
    return load_model("tiny-random", "trainable")  # fp32 on a GPU too (the precision policy's trainable dtype)


@pytest.fixture()
def tiny_teacher():
    from bench.models import load_model

    return load_model("tiny-random-teacher")
