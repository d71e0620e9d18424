"""`bench list methods|models` through the installed console script."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.models import ALIASES

BENCH = Path(sys.executable).parent / "bench"


def _run(*args: str) -> str:
    done = subprocess.run([str(BENCH), *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_list_methods():
    assert _run("list", "methods") == "sft dpo dckd adpa adpa_plus\n"


def test_list_models_verbose():
    lines = _run("list", "models", "-v").splitlines()
    assert [line.split()[0] for line in lines] == list(ALIASES)
    for name in ("smollm2-135m", "smollm2-8l", "tiny-random", "danube3-500m", "mistral-7b", "llama3.1-8b"):
        assert name in ALIASES
    assert any("h2oai/h2o-danube3-500m-base" in line for line in lines)
