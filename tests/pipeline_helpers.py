"""Running `bench run` in a subprocess, as a user would, with its own caches."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT.parent / "shared" / "data"


def bench_env(models_cache: Path, **extra) -> dict:
    env = dict(os.environ)
    env.update({"OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "BENCH_CACHE_DIR": str(models_cache),
                "BENCH_DATA_DIR": str(DATA_DIR), "PYTHONPATH": str(ROOT)})
    env.update({k: str(v) for k, v in extra.items()})
    return env


def bench_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "bench.cli", "run", *args]


def tiny_args(cache: Path, run_dir: Path, *extra: str) -> list[str]:
    return ["--method", "adpa_plus", "--profile", "test", "--cache-dir", str(cache), "--run-dir", str(run_dir), *extra]


def run_bench(args: list[str], env: dict, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(bench_cmd(*args), env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def stage_status(output: str) -> dict[str, str]:
    """stage -> "cached" / "done" from the per-stage lines `bench run` prints."""
    status = {}
    for line in output.splitlines():
        m = re.match(r"^(\S+)\s+(cached|done)\s", line)
        if m:
            status[m.group(1)] = m.group(2)
    return status


def final_metrics(run_dir: Path, method: str = "adpa_plus") -> dict:
    results = json.loads((run_dir / "results.json").read_text())
    (entry,) = [e for e in results["entries"] if e["method"] == method]
    return {(m["benchmark"], m["metric"]): m["value"] for m in entry["metrics"]}
