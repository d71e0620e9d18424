"""Content-addressed, atomic stage directories.

A stage's key is a hash of everything that determines its output (its inputs' keys, its config, the seed, the data
version, the base model fingerprint and a per-stage code version). It writes into a temporary directory that is
renamed into place once complete, manifest included, so a stage is done exactly when its final directory exists,
and a run killed at any point never leaves a readable half-written artifact. Temporary directories of dead
processes (any stage, any key) are removed when a stage begins. Two runs sharing a cache take a lock per stage key:
the second waits for the first and then finds the stage done, instead of computing it twice.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Callable, Iterator

from bench.io import read_json, write_json

MANIFEST = "manifest.json"
TMP_PREFIX = ".tmp-"


def stable_hash(payload) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


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
        return read_json(self.final_dir(name, key) / MANIFEST)

    @contextlib.contextmanager
    def lock(self, name: str, key: str, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
        """Exclusive per (stage, key) across processes; ``on_wait`` is called once if another process holds it."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / f".lock-{name}-{key[:16]}", "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if on_wait:
                    on_wait()
                fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def remove_dead_temporaries(self) -> list[Path]:
        """``.tmp-<stage>-<key>-<pid>`` folders whose process is gone (killed runs, any stage and key)."""
        removed = []
        for old in self.root.glob(f"{TMP_PREFIX}*"):
            pid = old.name.rsplit("-", 1)[-1]
            if old.is_dir() and pid.isdigit() and not _pid_alive(int(pid)):
                shutil.rmtree(old, ignore_errors=True)
                removed.append(old)
        return removed

    def begin(self, name: str, key: str) -> Path:
        """A fresh temporary directory for this stage; leftovers of dead runs are removed first."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.remove_dead_temporaries()
        tmp = self.root / f"{TMP_PREFIX}{name}-{key[:16]}-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        return tmp

    def abandon(self, tmp: Path) -> None:
        shutil.rmtree(tmp, ignore_errors=True)

    def commit(self, name: str, key: str, tmp: Path, manifest: dict, replace: bool = False) -> Path:
        """Rename ``tmp`` into place. ``replace``: a stage computed again (an evaluation that had failed benchmarks)
        takes the place of the done one; the old one is moved aside first, so a crash leaves the stage not done
        (computed again next time), never half of each."""
        write_json(tmp / MANIFEST, {**manifest, "name": name, "key": key, "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        final = self.final_dir(name, key)
        if replace and final.exists():
            old = final.with_name(f"{TMP_PREFIX}{final.name}-replaced-{os.getpid()}")
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
            return final
        if final.exists():  # a final dir without a manifest cannot come from commit(); a concurrent twin may have won
            if (final / MANIFEST).is_file():
                shutil.rmtree(tmp, ignore_errors=True)
                return final
            shutil.rmtree(final)
        os.replace(tmp, final)
        return final
