"""Two processes under `accelerate launch` train like one process on the doubled batch (CPU, gloo).

`accelerate launch --cpu --num_processes 2` starts a single process unless an MPI hostfile is given
(accelerate's CPU launcher is mpirun); the torchrun launcher (`--multi_gpu`) on a machine without a GPU
starts two gloo processes, and the script's TrainingArguments(use_cpu=True) keeps them on the CPU.
run.json records the world size each run actually had.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from bench.models import load_model

SCRIPT = Path(__file__).resolve().parent / "accelerate_train_script.py"
BIN = Path(sys.executable).parent


def _run(cmd: list[str], out: Path) -> tuple[dict, dict]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run(cmd + ["--out", str(out)], capture_output=True, text=True, timeout=900, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]
    return load_file(str(out / "params.safetensors")), json.loads((out / "run.json").read_text())


def _launch_two(tmp_path: Path, port: str, *script_args: str) -> tuple[dict, dict]:
    return _run([str(BIN / "accelerate"), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
                 "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", port,
                 str(SCRIPT), *script_args], tmp_path)


@pytest.mark.slow
def test_two_processes_match_one_process_on_doubled_batch(tmp_path):
    single, run1 = _run([str(BIN / "python"), str(SCRIPT), "--per-device-batch", "4"], tmp_path / "one")
    double, run2 = _launch_two(tmp_path / "two", "29517", "--per-device-batch", "2")
    assert run1 == {"world_size": 1, "steps": 2} and run2 == {"world_size": 2, "steps": 2}
    initial = dict(load_model("tiny-random", device="cpu").named_parameters())
    assert single.keys() == double.keys() == initial.keys()
    delta1 = torch.cat([(single[n] - initial[n].detach()).flatten() for n in single])
    delta2 = torch.cat([(double[n] - initial[n].detach()).flatten() for n in single])
    assert delta1.norm() > 1e-2  # two Adam steps at lr 1e-3 move the parameters measurably
    assert (delta2 - delta1).norm() / delta1.norm() < 1e-4  # measured: 1e-6 to 1e-5
    # Adam moves each parameter by up to ~lr per step; an element whose gradient is near Adam's eps can differ
    # by a few percent of that (measured up to 2.5e-5), a different data split would differ by ~lr.
    assert (delta2 - delta1).abs().max() < 2e-4


@pytest.mark.slow
def test_redrawn_samples_under_two_processes_match_one_process_on_doubled_batch(tmp_path):
    """GKD with every micro-batch's samples redrawn (methods.on_policy) under data parallelism: each process samples
    its rows with the streams of their places in the global batch, so two processes draw what one draws on the doubled
    micro-batch, and train to the same weights; the run's counts are summed over the processes."""
    from test_methods_exact import f64_model

    single, run1 = _run([str(BIN / "python"), str(SCRIPT), "--method", "gkd-on-policy", "--per-device-batch", "4"],
                        tmp_path / "one")
    double, run2 = _launch_two(tmp_path / "two", "29518", "--method", "gkd-on-policy", "--per-device-batch", "2")
    assert (run1["world_size"], run2["world_size"]) == (1, 2) and run1["steps"] == run2["steps"] == 2
    one, two = run1["on_policy"], run2["on_policy"]
    assert (one["processes"], two["processes"]) == (1, 2)
    assert one["redrawn"] == one["micro_batches"] == two["redrawn"] == two["micro_batches"] == 2  # per process
    assert one["samples"] == two["samples"] == 8  # 2 steps x 4 rows, summed over the processes
    assert one["mean_sample_tokens"] == two["mean_sample_tokens"]  # lengths only: the weights tell if the samples agree
    initial = dict(f64_model(0).named_parameters())
    delta1 = torch.cat([(single[n] - initial[n].detach()).flatten() for n in single])
    delta2 = torch.cat([(double[n] - initial[n].detach()).flatten() for n in single])
    assert delta1.norm() > 1e-2
    # float64 throughout: one process and two differ only in how the gradient sum is ordered (other samples, as a
    # process drawing its rows with the first rows' streams would give, differ by about the learning rate)
    assert (delta2 - delta1).abs().max() < 1e-8
