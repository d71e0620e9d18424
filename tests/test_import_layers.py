"""Issue 22: the package's imports run one way. ``lint-imports`` (import-linter) checks the contracts in
``.importlinter``: bench's layers (cli > commands > pipeline | perf > recipe > evals | report > results > judges >
datasets | models > stats | io | progress > errors | intervals > methods) and that ``methods`` imports nothing from
``bench``. docs/architecture.md draws the layers and says why."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")  # the venv's (dev dependency import-linter)


def _lint(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env, capture_output=True, text=True,
                          timeout=120)


def test_the_import_contracts_are_kept():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken." in result.stdout


def test_a_function_level_import_that_runs_back_up_breaks_a_contract(tmp_path):
    """The contracts see imports inside functions too: one from bench.io up to the pipeline, and one from methods
    into bench, each hidden in a function of a copy of the tree, are both reported with their line."""
    for name in ("bench", "methods"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / ".importlinter", tmp_path)
    io_lines = len((tmp_path / "bench" / "io.py").read_text().splitlines())
    with open(tmp_path / "bench" / "io.py", "a") as f:
        f.write("\n\ndef _upward():\n    from bench.pipeline import runner  # noqa: F401\n")
    with open(tmp_path / "methods" / "sft.py", "a") as f:
        f.write("\n\ndef _into_bench():\n    import bench.cli  # noqa: F401\n")

    result = _lint(tmp_path)

    assert result.returncode != 0
    assert "Contracts: 0 kept, 2 broken." in result.stdout
    assert f"bench.io -> bench.pipeline.runner (l.{io_lines + 4})" in result.stdout
    assert "methods.sft -> bench.cli" in result.stdout
