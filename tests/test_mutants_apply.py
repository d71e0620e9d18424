"""Every hand-made mutant of `make mutation` still applies to methods/ as it is: a refactor that moves the mutated
line would otherwise surface only when someone runs the (slow) mutation check."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "mutation"))
import run_mutants  # noqa: E402


@pytest.mark.parametrize("mutant", run_mutants.MUTANTS, ids=lambda m: m.id)
def test_mutant_applies_to_the_current_source(mutant, tmp_path):
    shutil.copytree(ROOT / "methods", tmp_path / "methods")
    run_mutants.apply(mutant, tmp_path / "methods")
    assert (tmp_path / "methods" / mutant.file).read_text() != (ROOT / "methods" / mutant.file).read_text()
