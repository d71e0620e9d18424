"""Running `bench` in-process as a user would, and checking what a refused command leaves behind."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from bench.cli import main


def bench(capsys, *argv) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``bench ARGV``; argparse's own exits count as exit codes too."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def error_line(err: str, command: str) -> str:
    """The one error line a refused command prints, last on stderr; no traceback (progress lines and warnings
    may come before it)."""
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    errors = [line for line in lines if line.startswith("bench ") and ": error: " in line]
    assert len(errors) == 1 and lines[-1] == errors[0], f"expected one error line, last, got:\n{err}"
    assert errors[0].startswith(f"bench {command}: error: "), errors[0]
    return errors[0]


def leftovers(*folders: Path) -> list[Path]:
    """Half-written things: stage temporaries (.tmp-*) and atomic-write temporaries (.NAME.*.tmp)."""
    found = []
    for folder in folders:
        if folder.exists():
            found += [p for p in folder.rglob("*") if p.name.startswith(".") and (".tmp" in p.name)]
    return found


def stage_dirs(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.iterdir() if not p.name.startswith(".")) if cache.exists() else []


def strict_json(path: Path):
    """Parse refusing NaN / Infinity, as every reader of our files does."""
    def refuse(name):
        raise ValueError(f"{path}: non-standard JSON constant {name}")
    return json.loads(path.read_text(), parse_constant=refuse)


def copy_model(source: Path, target: Path, drop: tuple[str, ...] = ()) -> Path:
    shutil.copytree(source, target)
    for name in drop:
        (target / name).unlink()
    return target


def conversation(answer: str, question: str = "Say something short.") -> list[dict]:
    return [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path
