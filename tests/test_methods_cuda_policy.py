"""What a GPU run decides before its first step (issue 21, item 6), checked on the CPU with torch.cuda's answers
replaced: bf16 only on compute capability >= 8.0 (V100 / T4 say is_bf16_supported() but only emulate it), a fallback
said in the log; a fixed cuBLAS workspace when deterministic algorithms are on; no host sync per micro-batch in the
loss (the Trainer reads the logged terms back every logging_steps steps, 10 on a GPU)."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from methods import precision as precision_module
from methods.base import LossConfig
from methods.precision import Precision
from methods.registry import METHODS, get_method
from methods.trainer import GPU_LOGGING_STEPS, training_arguments

from methods_helpers import batch_for, examples_for

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def fake_gpu(monkeypatch):
    """torch.cuda answering as a GPU of the given compute capability; is_bf16_supported() True as on V100 / T4."""
    def install(capability: tuple[int, int], name: str = "Fake GPU"):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
        monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a, **k: capability)
        monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a, **k: name)
        monkeypatch.setattr(precision_module, "_fallback_said", set())
    return install


@pytest.mark.parametrize("capability, native", [((7, 0), False), ((7, 5), False), ((8, 0), True), ((8, 6), True),
                                                ((9, 0), True)])
def test_bf16_needs_compute_capability_8(fake_gpu, capability, native, caplog):
    fake_gpu(capability, "Tesla V100" if not native else "NVIDIA A100")
    policy = Precision()
    with caplog.at_level(logging.WARNING, logger="methods.precision"):
        assert policy.bf16_on("cuda") is native
        assert policy.train_autocast("cuda") is native
        assert policy.frozen_dtype("cuda") == (torch.bfloat16 if native else torch.float32)
        assert policy.trainable_dtype() == torch.float32
    said = [r.getMessage() for r in caplog.records if r.name == "methods.precision"]
    if native:
        assert not said
    else:  # said once, naming the GPU, its capability and what runs instead
        assert len(said) == 1 and "Tesla V100" in said[0] and f"{capability[0]}.{capability[1]}" in said[0] and "fp32" in said[0]


@pytest.mark.parametrize("capability, bf16", [((7, 0), False), ((8, 0), True)])
def test_the_trainer_on_a_gpu_gets_bf16_by_capability_and_logs_every_10_steps(fake_gpu, monkeypatch, tmp_path,
                                                                             capability, bf16):
    """TrainingArguments itself cannot be built for a fake GPU (it sets the device): its arguments are recorded."""
    import methods.trainer as trainer_module

    fake_gpu(capability)
    monkeypatch.setattr(trainer_module, "TrainingArguments", lambda **kwargs: kwargs)
    args = training_arguments(str(tmp_path), learning_rate=1e-3)
    assert args["bf16"] is bf16 and args["logging_steps"] == GPU_LOGGING_STEPS
    on_cpu = training_arguments(str(tmp_path), learning_rate=1e-3, use_cpu=True)
    assert on_cpu["logging_steps"] == 1 and on_cpu["bf16"] is False  # CPU: every step, fp32 unless cpu_bf16


def test_deterministic_runs_fix_the_cublas_workspace(monkeypatch):
    from bench.pipeline.context import CUBLAS_WORKSPACE, set_determinism

    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    before = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
    try:
        set_determinism(0)
        assert torch.are_deterministic_algorithms_enabled()
        assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == CUBLAS_WORKSPACE == ":4096:8"
    finally:
        torch.use_deterministic_algorithms(before[0], warn_only=before[1])
    # bench.cli sets it when it starts, before any model runs (cuBLAS reads it once, at its first handle)
    env = {k: v for k, v in os.environ.items() if k != "CUBLAS_WORKSPACE_CONFIG"}
    out = subprocess.run([sys.executable, "-c", "import os, bench.cli; print(os.environ['CUBLAS_WORKSPACE_CONFIG'])"],
                         cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == CUBLAS_WORKSPACE


SYNCS = ("item", "tolist", "__float__", "__int__", "__bool__", "cpu", "numpy")


@pytest.mark.parametrize("name", list(METHODS))
def test_compute_loss_reads_nothing_back_from_the_device(name, tokenizer, tiny_model, tiny_teacher, monkeypatch):
    """Every registered method's loss, with a host read-back (``.item()``, ``float()``, ``bool()``, ``.tolist()``,
    ``.cpu()``) from code in methods/ counted: none (each would wait for the GPU at every micro-batch)."""
    method, pad = get_method(name), tokenizer.pad_token_id
    batch = batch_for(method, tiny_model, examples_for(name, tokenizer, tiny_model, tiny_teacher, n=4), pad)
    methods_dir = str(ROOT / "methods")
    calls: list[str] = []
    for attr in SYNCS:
        real = getattr(torch.Tensor, attr)

        def counted(self, *args, _real=real, _attr=attr, **kwargs):
            caller = sys._getframe(1).f_code.co_filename
            if caller.startswith(methods_dir):
                calls.append(f"{_attr} in {Path(caller).name}:{sys._getframe(1).f_lineno}")
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, attr, counted)
    loss, metrics = method.compute_loss(tiny_model, batch, LossConfig(beta=0.1))
    monkeypatch.undo()
    assert not calls, calls
    assert metrics and all(isinstance(v, torch.Tensor) and not v.requires_grad for v in metrics.values())
    assert loss.requires_grad
