"""Content-addressed, atomic stage directories.

A stage's key is a hash of everything that determines its output (its inputs' keys, its config, the
seed, the data version, the base model fingerprint and a per-stage code version). It writes into a
temporary directory that is renamed into place once complete, manifest included, so a stage is done
exactly when its final directory exists, and a run killed at any point never leaves a readable
half-written artifact: the next run removes the dead temporary directory and redoes the stage.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

MANIFEST = "manifest.json"


def stable_hash(payload) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def write_json_atomic(path: Path, payload) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, path)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class StageCache:
    def __init__(self, root: Path):
        self.root = Path(root)

    def final_dir(self, name: str, key: str) -> Path:
        return self.root / f"{name}-{key[:16]}"

    def is_done(self, name: str, key: str) -> bool:
        return (self.final_dir(name, key) / MANIFEST).is_file()

    def manifest(self, name: str, key: str) -> dict:
        return json.loads((self.final_dir(name, key) / MANIFEST).read_text())

    def begin(self, name: str, key: str) -> Path:
        """A fresh temporary directory for this stage; leftovers of dead runs are removed first."""
        self.root.mkdir(parents=True, exist_ok=True)
        stem = f".tmp-{name}-{key[:16]}-"
        for old in self.root.glob(stem + "*"):
            pid = old.name[len(stem):]
            if pid.isdigit() and not _pid_alive(int(pid)):
                shutil.rmtree(old, ignore_errors=True)
        tmp = self.root / f"{stem}{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        return tmp

    def commit(self, name: str, key: str, tmp: Path, manifest: dict) -> Path:
        write_json_atomic(tmp / MANIFEST, {**manifest, "name": name, "key": key, "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        final = self.final_dir(name, key)
        if final.exists():  # a final dir without a manifest cannot come from commit(); a concurrent twin may have won
            if (final / MANIFEST).is_file():
                shutil.rmtree(tmp, ignore_errors=True)
                return final
            shutil.rmtree(final)
        os.replace(tmp, final)
        return final
