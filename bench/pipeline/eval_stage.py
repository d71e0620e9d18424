"""The evaluation stage: the recipe's benchmarks on one trained model through bench.evals.evaluate, saved as an
evaluation (bench.results.evaluation) with the training curve of the model's checkpoints, if it saved any."""
from __future__ import annotations

import logging
from pathlib import Path

from bench.evals import evaluate
from bench.results import CurvePoint
from bench.results.evaluation import Evaluation, save_evaluation

from .context import RunContext
from .plan import Stage

log = logging.getLogger("bench.run")
EVALUATION_FILE = "evaluation.json"


def _options(ctx: RunContext, stage: Stage) -> dict:
    reference = stage.deps.get("reward_reference")
    return {**stage.config["options"],
            "reference_model": str(ctx.model_dir(reference)) if reference else stage.config.get("reward_reference_base")}


def run_eval(ctx: RunContext, stage: Stage, out: Path) -> dict:
    cfg = stage.config
    model_dir = ctx.model_dir(stage.deps["model"])
    results = evaluate(str(model_dir), cfg["benchmarks"], data_dir=ctx.data_dir, out_dir=out / "eval", limit=cfg["limit"],
                       seed=ctx.seed, profile=cfg["profile"], options=_options(ctx, stage), reporter=ctx.reporter)
    log.info("[%s] benchmark seconds: %s", stage.name, {r.benchmark: r.seconds for r in results})
    curves = checkpoint_curve(ctx, stage, out, results) if cfg.get("curves") else []
    evaluation = Evaluation(str(model_dir), results, {"stage": stage.name, "model_id": cfg["options"].get("model_id")}, curves)
    save_evaluation(evaluation, out / EVALUATION_FILE)
    return {"metrics": len(evaluation.metrics), "samples": len(evaluation.samples), "curve_points": len(curves),
            "failed": [r.benchmark for r in results if any(m.details.get("failed") for m in r.metrics)]}


def checkpoint_curve(ctx: RunContext, stage: Stage, out: Path, final) -> list[CurvePoint]:
    """The recipe's curve metric (eval.curves) for each checkpoint the training stage saved (its ``checkpoints``
    setting), plus the final model's value, measured on the same items (same limit)."""
    model_stage = stage.deps["model"]
    checkpoints = ctx.stage_dir(model_stage) / "checkpoints"
    if not checkpoints.is_dir():
        return []
    benchmark, metric = stage.config["curves"]["benchmark"], stage.config["curves"]["metric"]
    name = f"{benchmark}/{metric}"
    options = {**stage.config["options"], "reference_model": None}
    points = []
    folders = sorted(checkpoints.glob("step-*"))
    with ctx.reporter.task(f"{stage.name} (curve)", len(folders), "checkpoints") as task:
        for folder in folders:
            results = evaluate(str(folder), [benchmark], data_dir=ctx.data_dir, out_dir=out / "curve" / folder.name,
                               limit=stage.config["limit"], seed=ctx.seed, profile=stage.config["profile"], options=options,
                               reporter=ctx.reporter)
            value = _value(results, benchmark, metric)
            if value is not None:  # unmeasured: the curve has a gap there (the evaluator logged why)
                points.append(CurvePoint(name, int(folder.name.split("-")[1]), value))
            task.advance(1)
    steps = ctx.cache.manifest(model_stage, ctx.plan[model_stage].key).get("summary", {}).get("steps")
    final_value = _value(final, benchmark, metric)
    if points and steps is not None and final_value is not None:
        points.append(CurvePoint(name, int(steps), final_value))
    return points


def _value(results, benchmark: str, metric: str) -> float | None:
    return next((m.value for r in results for m in r.metrics if m.benchmark == benchmark and m.metric == metric), None)
