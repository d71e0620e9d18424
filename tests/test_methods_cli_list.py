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
    assert _run("list", "methods") == "sft dpo dckd adpa adpa_plus distillm2 gkd simpo\n"


def test_list_methods_verbose_names_what_each_needs(capsys):
    from types import SimpleNamespace

    from bench.commands.list import run

    assert run(SimpleNamespace(what="methods", verbose=True)) == 0  # in-process: the script itself is tested above
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert "needs: sample_topk, student_samples, teacher_topk" in lines["gkd"]
    assert "needs: sample_topk, student_samples, teacher_topk" in lines["distillm2"]
    assert "needs" not in lines["simpo"]  # pairs only: no reference model, no teacher


def test_list_models_verbose():
    lines = _run("list", "models", "-v").splitlines()
    assert [line.split()[0] for line in lines] == list(ALIASES)
    for name in ("smollm2-135m", "smollm2-8l", "tiny-random", "danube3-500m", "mistral-7b", "llama3.1-8b"):
        assert name in ALIASES
    assert any("h2oai/h2o-danube3-500m-base" in line for line in lines)
