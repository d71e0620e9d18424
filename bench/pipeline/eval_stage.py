"""The evaluation stage: the recipe's benchmarks on one trained model through bench.evals.evaluate, saved as an
evaluation (bench.results.evaluation) with the training curve of the model's checkpoints, if it saved any."""
from __future__ import annotations

import logging
import shutil
from pathlib import Path

from bench.evals import evaluate
from bench.evals.api import benchmark_names, raised
from bench.results import CurvePoint, ResultsError
from bench.results.evaluation import Evaluation, load_evaluation, save_evaluation

from .context import RunContext
from .plan import Stage

log = logging.getLogger("bench.run")
EVALUATION_FILE = "evaluation.json"


def _options(ctx: RunContext, stage: Stage) -> dict:
    reference = stage.deps.get("reward_reference")
    return {**stage.config["options"],
            "reference_model": str(ctx.model_dir(reference)) if reference else stage.config.get("reward_reference_base")}


def _earlier(ctx: RunContext, stage: Stage) -> tuple[Evaluation, Path] | None:
    """This very stage's cached evaluation (same key) and its folder, if there is one: the runner evaluates a stage
    again when it lost benchmarks (bench.pipeline.runner), and only those need running. A judge that answered but
    whose every rating was unparseable is a measurement (value None, its failures counted), not a lost benchmark."""
    if not ctx.cache.is_done(stage.name, stage.key):
        return None
    folder = ctx.cache.final_dir(stage.name, stage.key)
    try:
        return load_evaluation(folder / EVALUATION_FILE), folder
    except ResultsError as err:
        log.warning("[%s] the cached evaluation cannot be reused, every benchmark runs again: %s", stage.name, err)
        return None


def _keep(ctx: RunContext, stage: Stage, out: Path, earlier: tuple[Evaluation, Path] | None, names: list[str]) -> dict:
    """The earlier evaluation's benchmarks that did not fail, with their answers and judgments copied into ``out``."""
    if earlier is None:
        return {}
    evaluation, folder = earlier
    lost = set(raised(evaluation.benchmarks))
    kept = {r.benchmark: r for r in evaluation.benchmarks if r.benchmark in names and r.benchmark not in lost}
    for name in kept:
        if (folder / "eval" / name).is_dir():
            shutil.copytree(folder / "eval" / name, out / "eval" / name)
    if kept:
        ctx.reporter.console.print(f"{stage.name}: kept {', '.join(kept)} from the cached evaluation; evaluating "
                                   f"{', '.join(n for n in names if n not in kept)}")
        log.info("[%s] kept from the cached evaluation: %s", stage.name, list(kept))
    return kept


def run_eval(ctx: RunContext, stage: Stage, out: Path) -> dict:
    cfg = stage.config
    model_dir = ctx.model_dir(stage.deps["model"])
    names = benchmark_names(cfg["benchmarks"])
    earlier = _earlier(ctx, stage)
    kept = _keep(ctx, stage, out, earlier, names)
    todo = [n for n in names if n not in kept]
    fresh = evaluate(str(model_dir), todo, data_dir=ctx.data_dir, out_dir=out / "eval", limit=cfg["limit"],
                     seed=ctx.seed, profile=cfg["profile"], options=_options(ctx, stage), reporter=ctx.reporter) if todo else []
    results = [kept[n] if n in kept else fresh.pop(0) for n in names]  # evaluate: one result per name, in order
    log.info("[%s] benchmark seconds: %s", stage.name, {r.benchmark: r.seconds for r in results})
    curves = []
    if cfg.get("curves"):
        if earlier is not None and earlier[0].curves and cfg["curves"]["benchmark"] in kept:
            evaluation, folder = earlier
            if (folder / "curve").is_dir():
                shutil.copytree(folder / "curve", out / "curve")
            curves = evaluation.curves
        else:
            curves = checkpoint_curve(ctx, stage, out, results)
    evaluation = Evaluation(str(model_dir), results, {"stage": stage.name, "model_id": cfg["options"].get("model_id")}, curves)
    save_evaluation(evaluation, out / EVALUATION_FILE)
    return {"metrics": len(evaluation.metrics), "samples": len(evaluation.samples), "curve_points": len(curves),
            "failed": raised(results)}


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
