"""`bench run --only-stage`: one stage of the plan, its inputs taken from the cache; and a training stage run by two
processes under `accelerate launch` (CPU, gloo), where process 0 alone commits the stage."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline_helpers import ROOT, bench_env, run_bench

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


def _args(cache: Path, run_dir: Path, *extra: str) -> list[str]:
    return ["--method", "dpo", "--profile", "test", "--cache-dir", str(cache), "--run-dir", str(run_dir), "--no-eval",
            *extra]


def _stages(cache: Path) -> dict[str, Path]:
    return {p.name.rsplit("-", 1)[0]: p for p in cache.iterdir() if not p.name.startswith(".")}


def test_only_stage_needs_its_inputs_and_runs_alone(tmp_path):
    env = bench_env(Path.home() / ".cache" / "adpa-bench")
    cache, run_dir = tmp_path / "cache", tmp_path / "run"
    missing = run_bench(_args(cache, run_dir, "--only-stage", "dpo"), env)
    assert missing.returncode == 2 and "inputs are not cached yet: sft" in missing.stderr + missing.stdout
    unknown = run_bench(_args(cache, run_dir, "--only-stage", "dckd"), env)
    assert unknown.returncode == 2 and "not a stage of this plan" in unknown.stderr + unknown.stdout
    first = run_bench(_args(cache, run_dir, "--only-stage", "sft"), env)
    assert first.returncode == 0, first.stderr[-3000:]
    assert set(_stages(cache)) == {"sft"}
    second = run_bench(_args(cache, run_dir, "--only-stage", "dpo"), env)
    assert second.returncode == 0, second.stderr[-3000:]
    assert set(_stages(cache)) == {"sft", "dpo"} and not (run_dir / "results.json").exists()


def test_a_training_stage_in_two_processes_is_committed_once(tmp_path):
    env = bench_env(Path.home() / ".cache" / "adpa-bench")
    cache, run_dir = tmp_path / "cache", tmp_path / "run"
    assert run_bench(_args(cache, run_dir, "--only-stage", "sft"), env).returncode == 0
    launch = [str(BIN / "accelerate"), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
              "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "29531", "-m", "bench.cli", "run"]
    everything = subprocess.run(launch + _args(cache, run_dir), env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert everything.returncode != 0 and "name one training stage with --only-stage" in everything.stderr + everything.stdout
    done = subprocess.run(launch + _args(cache, run_dir, "--only-stage", "dpo"), env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]
    stages = _stages(cache)
    assert set(stages) == {"sft", "dpo"} and not [p for p in cache.iterdir() if p.name.startswith(".tmp-")]
    manifest = json.loads((stages["dpo"] / "manifest.json").read_text())
    assert manifest["summary"]["steps"] >= 1 and (stages["dpo"] / "model" / "model.safetensors").is_file()
    assert not (stages["dpo"] / "model" / "training_args.bin").exists()
