"""requirements.lock is the whole installed stack: it must agree with pyproject.toml, and this venv must match it.

A dependency added to pyproject.toml without `make lock` (or a lock edited by hand) fails here in a second, instead of
a newcomer installing something no test ran on.
"""
from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s\\;]+)")
EXTRAS_INSTALLED = ("dev",)  # what `make setup` installs besides the project itself (the Makefile's lock target)


def lock_pins(text: str) -> dict[str, tuple[str, list[str]]]:
    """{name: (version, [hashes])} from a uv/pip-compile lock with hashes."""
    pins: dict[str, tuple[str, list[str]]] = {}
    current = None
    for line in text.splitlines():
        match = PIN.match(line)
        if match:
            current = canonicalize_name(match.group(1))
            pins[current] = (match.group(3), [])
        elif current and line.strip().startswith("--hash=sha256:"):
            pins[current][1].append(line.strip().split(":", 1)[1].rstrip(" \\"))
        elif line and not line.startswith(" "):
            current = None
    return pins


def direct_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    for extra in EXTRAS_INSTALLED:
        reqs += [Requirement(r) for r in project["optional-dependencies"][extra]]
    return [r for r in reqs if r.marker is None or r.marker.evaluate()]


def direct_in_lock(text: str) -> set[str]:
    """Packages the lock says come from pyproject.toml ('# via adpa-bench (pyproject.toml)')."""
    direct, current = set(), None
    for line in text.splitlines():
        match = PIN.match(line)
        if match:
            current = canonicalize_name(match.group(1))
        elif current and "adpa-bench (pyproject.toml)" in line:
            direct.add(current)
    return direct


@pytest.fixture(scope="module")
def lock_text() -> str:
    return (ROOT / "requirements.lock").read_text()


def test_every_direct_requirement_is_pinned_within_its_range(lock_text):
    pins = lock_pins(lock_text)
    for req in direct_requirements():
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is in pyproject.toml but not in requirements.lock: run `make lock`"
        version = Version(pins[name][0])
        # torch==2.13.0 admits the local CPU build 2.13.0+cpu (PEP 440 ignores local labels in ==)
        assert req.specifier.contains(version, prereleases=True), \
            f"requirements.lock pins {req.name}=={version}, outside pyproject.toml's {req}: run `make lock`"


def test_lock_has_nothing_pyproject_does_not_ask_for(lock_text):
    wanted = {canonicalize_name(r.name) for r in direct_requirements()}
    extra = direct_in_lock(lock_text) - wanted
    assert not extra, f"requirements.lock lists {sorted(extra)} as from pyproject.toml, which no longer asks: run `make lock`"


def test_every_pin_carries_a_hash(lock_text):
    pins = lock_pins(lock_text)
    assert len(pins) > 100  # the whole transitive closure, not just the direct dependencies
    missing = [name for name, (_, hashes) in pins.items() if not hashes]
    assert not missing, f"pins without --hash in requirements.lock: {missing}"


def test_this_environment_is_the_lock(lock_text):
    """`make setup` installs exactly the lock: every locked package at its locked version."""
    wrong = []
    for name, (version, _) in lock_pins(lock_text).items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            wrong.append(f"{name} (locked {version}, not installed)")
            continue
        if Version(installed) != Version(version):
            wrong.append(f"{name} (locked {version}, installed {installed})")
    assert not wrong, "this venv differs from requirements.lock (run `make setup`): " + ", ".join(wrong)


def test_lock_command_in_makefile_matches_the_header(lock_text):
    """The header names `make lock`, and the Makefile's lock target is the uv command that wrote this file."""
    assert lock_text.splitlines()[1].strip() == "#    make lock"
    makefile = (ROOT / "Makefile").read_text()
    for flag in ("--generate-hashes", "--exclude-newer $(LOCK_DATE)", "--extra dev", '--custom-compile-command "make lock"'):
        assert flag in makefile


def test_the_parser_sees_a_missing_and_a_stray_dependency():
    lock = ("# header\n#    make lock\nfoo==1.0 \\\n    --hash=sha256:ab\n    # via adpa-bench (pyproject.toml)\n"
            "bar==2.0 \\\n    --hash=sha256:cd\n    # via foo\n")
    assert lock_pins(lock) == {"foo": ("1.0", ["ab"]), "bar": ("2.0", ["cd"])}
    assert direct_in_lock(lock) == {"foo"}
