"""Recipes: the YAML files in bench/recipes (paper, embedded, test), with command-line overrides.

``--set a.b.c=VALUE`` replaces one field; VALUE is read as YAML (``1e-5`` is a number, ``[gold]`` a list,
``null`` clears). A path that names no existing field is an error, so typos do not pass silently.
"""
from __future__ import annotations

import copy
from importlib import resources
from pathlib import Path

import yaml

PROFILES = ("embedded", "paper", "test")
DEFAULT_PROFILE = "embedded"
TRAINING_FIELDS = ("learning_rate", "epochs", "batch_size", "grad_accum", "warmup_ratio", "scheduler", "max_steps", "loss",
                   "checkpoints")


class RecipeError(ValueError):
    pass


def recipe_path(profile: str) -> Path:
    path = Path(profile).expanduser()
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return path
    if profile not in PROFILES:
        raise RecipeError(f"unknown profile {profile!r}: choose one of {', '.join(PROFILES)} or give a recipe .yaml file")
    return Path(str(resources.files("bench") / "recipes" / f"{profile}.yaml"))


def profile_for(model: str | None) -> str:
    """The recipe whose ``students`` lists ``model`` (e.g. danube3-500m -> paper), else the default profile."""
    if model:
        for profile in PROFILES:
            students = (yaml.safe_load(recipe_path(profile).read_text()) or {}).get("students") or {}
            if model in students:
                return profile
    return DEFAULT_PROFILE


def _yaml_number(value):
    """YAML 1.1 reads ``1e-5`` (no dot) as a string; recipes mean a number."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def apply_override(recipe: dict, assignment: str) -> None:
    if "=" not in assignment:
        raise RecipeError(f"--set {assignment!r}: expected KEY=VALUE, e.g. stages.dckd.learning_rate=1e-5")
    key, raw = assignment.split("=", 1)
    parts = key.strip().split(".")
    node = recipe
    for i, part in enumerate(parts[:-1]):
        if not isinstance(node, dict) or part not in node:
            raise RecipeError(f"--set {key}: the recipe has no field {'.'.join(parts[: i + 1])!r}")
        if node[part] is None:
            node[part] = {}
        node = node[part]
    leaf = parts[-1]
    if not isinstance(node, dict):
        raise RecipeError(f"--set {key}: {'.'.join(parts[:-1])!r} is not a section")
    # New keys are allowed only inside loss settings and per-stage training fields (validated later).
    if leaf not in node and not (len(parts) >= 3 and parts[0] == "stages") and parts[0] != "students":
        raise RecipeError(f"--set {key}: the recipe has no field {key!r}")
    value = yaml.safe_load(raw)
    node[leaf] = _yaml_number(value) if not isinstance(node.get(leaf), str) else value


def load_recipe(profile: str = DEFAULT_PROFILE, overrides: list[str] | None = None) -> dict:
    path = recipe_path(profile)
    try:
        recipe = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise RecipeError(f"{path}: not valid YAML: {err}") from None
    recipe = copy.deepcopy(recipe)
    for assignment in overrides or []:
        apply_override(recipe, assignment)
    validate(recipe, str(path))
    return recipe


def validate(recipe: dict, where: str) -> None:
    for key in ("profile", "student", "teacher", "seed", "data", "lengths", "topk", "generation", "advantages", "training", "stages", "eval"):
        if key not in recipe:
            raise RecipeError(f"{where}: missing field {key!r}")
    for name, stage in recipe["stages"].items():
        unknown = set(stage or {}) - set(TRAINING_FIELDS)
        if unknown:
            raise RecipeError(f"{where}: stages.{name}: unknown fields {sorted(unknown)}; known: {list(TRAINING_FIELDS)}")
    if recipe["advantages"]["reference"] not in ("ref_teacher", "student_init"):
        raise RecipeError(f"{where}: advantages.reference must be ref_teacher or student_init")


def stage_training(recipe: dict, stage: str) -> dict:
    """The training settings of one stage: recipe defaults overlaid with the stage's own fields."""
    out = {"max_steps": -1, **recipe["training"], **(recipe["stages"].get(stage) or {})}
    out["loss"] = dict(out.get("loss") or {})
    for key in ("learning_rate", "warmup_ratio", "epochs"):
        out[key] = float(_yaml_number(out[key])) if key in out else out.get(key)
    if "learning_rate" not in out or out["learning_rate"] is None:
        raise RecipeError(f"stages.{stage}: no learning_rate")
    return out


def teacher_for(recipe: dict, student: str, teacher: str | None) -> str:
    if teacher:
        return teacher
    per_student = (recipe.get("students") or {}).get(student) or {}
    return per_student.get("teacher") or recipe["teacher"]
