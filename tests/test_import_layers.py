"""Issue 22: the package's imports run one way. ``lint-imports`` (import-linter) checks the contracts in
``.importlinter``: bench's layers (cli > arguments > commands > pipeline | perf > recipe > evals | report > results >
judges > datasets | models > stats | io | progress > errors | intervals > methods) and that ``methods`` imports nothing
from ``bench``. docs/architecture.md draws the layers and says why. An import of our own modules inside a function is
allowed only to defer a heavy library, and says so."""
from __future__ import annotations

import ast
import os
import re
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


# Libraries that take seconds to import on 2 cores; `bench --help` (every subcommand's parser built) needs none.
HEAVY = ("torch", "transformers", "scipy", "pandas", "matplotlib", "openai", "datasets", "trl", "alpaca_eval")
OWN = ("bench", "methods")
MOST_FUNCTION_LEVEL_IMPORTS = 24  # issue 22: fewer than 25


def test_bench_help_builds_every_parser_without_a_heavy_library():
    probe = ("import sys; from bench.cli import build_parser; build_parser(); "
             f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", f"bench --help imports {done.stdout.strip()}"


def _function_level_imports(path: Path) -> list[tuple[int, int]]:
    """(first line, last line) of every import of bench or methods (or a relative one) inside a function."""
    found = set()
    for fn in ast.walk(ast.parse(path.read_text())):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(fn):
            own = (isinstance(node, ast.ImportFrom) and (node.level > 0 or (node.module or "").split(".")[0] in OWN)
                   or isinstance(node, ast.Import) and any(a.name.split(".")[0] in OWN for a in node.names))
            if own:
                found.add((node.lineno, node.end_lineno))
    return sorted(found)


def _says_why(lines: list[str], first: int, last: int) -> bool:
    """The import's own lines, or the comment lines right above it, say it is deferred."""
    text = lines[first - 1:last]
    above = first - 2
    while above >= 0 and lines[above].lstrip().startswith("#"):
        text.append(lines[above])
        above -= 1
    return re.search(r"deferred", " ".join(text), re.IGNORECASE) is not None


def test_function_level_imports_of_our_own_modules_are_few_and_each_says_why():
    sources = [p for name in OWN for p in sorted((ROOT / name).rglob("*.py"))]
    found = {p: _function_level_imports(p) for p in sources}
    total = sum(len(v) for v in found.values())
    unexplained = [f"{p.relative_to(ROOT)}:{first}" for p, spans in found.items() if spans
                   for first, last in spans if not _says_why(p.read_text().splitlines(), first, last)]
    assert not unexplained, f"imports inside functions with no 'deferred: <what it defers>' comment: {unexplained}"
    assert 0 < total <= MOST_FUNCTION_LEVEL_IMPORTS, f"{total} imports of bench/methods inside functions"


def test_the_why_check_sees_an_import_without_a_comment(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    # a note that says nothing of why\n    from bench import io\n\n\n"
                      "def g():\n    # deferred: torch\n    from methods import sft\n")
    lines = module.read_text().splitlines()
    spans = _function_level_imports(module)
    assert spans == [(3, 3), (8, 8)]
    assert [_says_why(lines, *span) for span in spans] == [False, True]
