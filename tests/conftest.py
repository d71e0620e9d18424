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


@pytest.fixture(scope="session")
def device():
    """The one device every device-dependent test runs on: CUDA when there is a GPU (``make gpu-check``), else the
    CPU; ``BENCH_TEST_DEVICE=cpu`` forces the CPU on a GPU machine. Models come from the fixtures below on it, and a
    test moves its batches with the model (methods.devices.to_model_device), never to a device of its own."""
    import torch

    wanted = os.environ.get("BENCH_TEST_DEVICE")
    if wanted:
        return torch.device(wanted)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@pytest.fixture()
def tiny_model(device):
    """A fresh copy of the tiny random student (tests may train it), on ``device``."""
    import torch

    from bench.models import load_model

    torch.manual_seed(0)
    return load_model("tiny-random", "trainable", device=str(device))  # fp32 on a GPU too (the trainable dtype)


@pytest.fixture()
def tiny_teacher(device):
    """The tiny random teacher on ``device``, in fp32 everywhere (the tests compare it with fp32 references; the bf16
    frozen dtype is tested on its own in test_methods_precision.py)."""
    import torch

    from bench.models import load_model

    return load_model("tiny-random-teacher", device=str(device), dtype=torch.float32)
