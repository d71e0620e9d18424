"""A finished run as results entries: one per evaluated row (each method, and the teacher rows), each with its
metrics and samples (from the evaluation stage's saved evaluation), training summary, timings and the settings a
reader needs, the method's headline hyperparameters (the paper's alpha, gamma) among them."""
from __future__ import annotations

from pathlib import Path

from methods.registry import METHODS

from bench.recipe import Recipe
from bench.results import TEACHER_ROWS, Entry
from bench.results.evaluation import load_evaluation

from .eval_stage import EVALUATION_FILE
from .plan import Stage, closure


def hyperparameters(stage: Stage, recipe: Recipe) -> dict:
    hp = {**stage.config["training"], **stage.config["loss"]}
    method = METHODS.get(stage.config["method"])
    for symbol, fields in (method.headline if method else {}).items():
        hp[symbol] = stage.config["loss"][fields[0]]
    if stage.config["method"] in ("adpa", "adpa_plus"):
        hp["advantage_baseline"] = recipe.advantages.baseline
        hp["advantage_floor"] = recipe.advantages.floor
    return hp


def run_entries(plan: dict[str, Stage], rows: list[dict], recipe: Recipe, methods: list[str], student: str,
                teacher: str, seed: int, run_dir: Path, study: str) -> list[Entry]:
    by_stage = {r["stage"]: r for r in rows}
    entries = []
    for method in methods + [t for t in TEACHER_ROWS if f"eval_{t}" in plan]:
        stages = closure(plan, method)
        walls = {n: by_stage[n]["wall_time_s"] for n in stages}
        walls["train"] = round(sum(w or 0 for w in walls.values()), 2)
        evaluation = None
        if f"eval_{method}" in plan:
            evaluation = load_evaluation(Path(by_stage[f"eval_{method}"]["dir"]) / EVALUATION_FILE)
            walls["eval"] = by_stage[f"eval_{method}"]["wall_time_s"]
        notes = list(evaluation.notes) if evaluation else ["evaluation skipped (--no-eval)"]
        entries.append(Entry(
            student=student, method=method, seed=seed, model=str(Path(by_stage[method]["dir"]) / "model"),
            metrics=evaluation.metrics if evaluation else [], run_dir=str(run_dir),
            wall_time_s=walls, hyperparameters=hyperparameters(plan[method], recipe),
            curves=evaluation.curves if evaluation else [], samples=evaluation.samples if evaluation else [],
            teacher=teacher if any(plan[n].role == "teacher" for n in stages) else None, study=study,
            extra={"training": by_stage[method]["summary"], "notes": notes}))
    return entries
