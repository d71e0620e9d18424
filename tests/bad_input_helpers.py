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
    """The one error line a refused command prints (warnings may come before it; a traceback may not)."""
    assert "Traceback" not in err, err
    lines = [line for line in err.strip().splitlines() if not line.startswith("warning: ")]
    assert len(lines) == 1, f"expected one error line, got:\n{err}"
    assert lines[0].startswith(f"bench {command}: error: "), lines[0]
    return lines[0]


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
