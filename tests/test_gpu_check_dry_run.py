"""`python scripts/gpu_check.py --dry-run` is green on a machine without a GPU: every check of `make gpu-check` runs on
the CPU with the tiny random pair (bf16 autocast rehearsed), the methods tests are collected, vLLM's settings built."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# About 30 s of CPU (85 s wall on the shared 2-core machine): in `make test`, not `make test-fast`.
pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


def test_gpu_check_dry_run_is_green():
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "gpu_check.py"), "--dry-run"], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    table = out.stdout[out.stdout.index("gpu-check dry run"):]
    for row in ("device", "methods tests on CUDA (collected only)", "sft: loss vs fp32 CPU", "dpo: loss vs fp32 CPU",
                "dckd: loss vs fp32 CPU", "adpa: loss vs fp32 CPU", "adpa_plus: loss vs fp32 CPU",
                "zero3 bf16 weights vs policy", "vLLM vs HF greedy, 20 prompts"):
        line = next(line for line in table.splitlines() if line.startswith(row))
        assert " ok " in line, line
    assert "FAIL" not in table
