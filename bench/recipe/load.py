"""Loading a recipe: a profile's YAML (bench/recipe/profiles: paper, embedded, test) or any recipe file, with
command-line overrides, read into the typed ``Recipe`` (bench.recipe.schema).

``--set a.b.c=VALUE`` replaces one field; VALUE is read as YAML (``1e-5`` is a number, ``[gold]`` a list, ``null``
clears). A path that names no existing field is an error (typos do not pass silently), except new keys inside
``stages.<stage>``, ``stages.<stage>.loss``, ``students`` and ``eval.options``, which the typed reading checks.

A recipe may start from another: ``extends: embedded`` (a profile name or a .yaml path relative to the file) reads
that recipe first and lays this file's sections over it, mappings merged key by key, anything else replaced.
"""
from __future__ import annotations

import copy
from importlib import resources
from pathlib import Path

import yaml

from .fields import RecipeError
from .schema import Recipe, read_recipe

PROFILES = ("embedded", "embedded-full", "paper", "test")
DEFAULT_PROFILE = "embedded"
OPEN_SECTIONS = (("stages",), ("students",), ("eval", "options"), ("eval", "limit"), ("eval", "judges"))


def recipe_path(profile: str) -> Path:
    path = Path(profile).expanduser()
    if path.suffix in (".yaml", ".yml"):
        if not path.is_file():
            raise RecipeError(f"{path}: no such recipe file")
        return path
    if profile not in PROFILES:
        raise RecipeError(f"unknown profile {profile!r}: choose one of {', '.join(PROFILES)} or give a recipe .yaml file")
    return Path(str(resources.files("bench") / "recipe" / "profiles" / f"{profile}.yaml"))


def read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise RecipeError(f"{path}: not valid YAML: {err}") from None
    if data is None:
        raise RecipeError(f"{path}: the recipe file is empty")
    if not isinstance(data, dict):
        raise RecipeError(f"{path}: a recipe is a mapping of sections, got {type(data).__name__}")
    return data


def _merged(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        out[key] = _merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def read_recipe_file(path: Path, seen: tuple[Path, ...] = ()) -> dict:
    """A recipe file as a mapping, with what it ``extends`` laid under it."""
    data = read_yaml(path)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str) or not parent:
        raise RecipeError(f"{path}: extends: expected a profile name or a recipe .yaml path, got {parent!r}")
    base = path.parent / parent if parent.endswith((".yaml", ".yml")) else recipe_path(parent)
    if not base.is_file():
        raise RecipeError(f"{path}: extends: no such recipe file {base}")
    if base.resolve() in seen or base.resolve() == path.resolve():
        raise RecipeError(f"{path}: extends: {parent!r} leads back to itself")
    return _merged(read_recipe_file(base, (*seen, path.resolve())), data)


def profile_for(model: str | None) -> str:
    """The recipe whose ``students`` lists ``model`` (e.g. danube3-500m -> paper), else the default profile."""
    if model:
        for profile in PROFILES:
            if model in (read_recipe_file(recipe_path(profile)).get("students") or {}):
                return profile
    return DEFAULT_PROFILE


def apply_override(recipe: dict, assignment: str) -> None:
    if "=" not in assignment:
        raise RecipeError(f"--set {assignment!r}: expected KEY=VALUE, e.g. stages.dckd.learning_rate=1e-5")
    key, raw = assignment.split("=", 1)
    parts = key.strip().split(".")
    if not all(parts):
        raise RecipeError(f"--set {key!r}: not a dotted field path")
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError as err:
        raise RecipeError(f"--set {key}: the value {raw!r} is not valid YAML ({str(err).splitlines()[0]})") from None
    node = recipe
    for i, part in enumerate(parts[:-1]):
        if not isinstance(node, dict):
            raise RecipeError(f"--set {key}: {'.'.join(parts[:i])!r} is a value, not a section")
        if part not in node and not _open(parts[:i]):
            raise RecipeError(f"--set {key}: the recipe has no field {'.'.join(parts[: i + 1])!r}")
        if node.get(part) is None:
            node[part] = {}
        node = node[part]
    if not isinstance(node, dict):
        raise RecipeError(f"--set {key}: {'.'.join(parts[:-1])!r} is a value, not a section")
    if parts[-1] not in node and not _open(parts[:-1]):
        raise RecipeError(f"--set {key}: the recipe has no field {key!r}")
    node[parts[-1]] = value


def _open(prefix: list[str]) -> bool:
    """Sections whose keys are free (the typed reading checks them): stages and their loss, students, eval maps."""
    if prefix[:1] == ["stages"] and (len(prefix) <= 3 or prefix[3:] == ["settings"]):  # .. loss.settings: a method's own
        return True
    return any(tuple(prefix[: len(p)]) == p for p in OPEN_SECTIONS)


def load_recipe(profile: str = DEFAULT_PROFILE, overrides: list[str] | None = None) -> Recipe:
    path = recipe_path(profile)
    data = copy.deepcopy(read_recipe_file(path))
    for assignment in overrides or []:
        apply_override(data, assignment)
    try:
        return read_recipe(data, str(path))
    except RecipeError as err:
        raise RecipeError(f"{path}: {err}") from None
