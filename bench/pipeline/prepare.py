"""Everything a run checks and computes before its first stage: models and data available here, the teacher and
student tokenizers compatible, top-K within the vocabulary, the data loaded and tokenised (degenerate records
dropped and counted) and every stage keyed. A problem found here costs seconds, not the stages that would have
run before it."""
from __future__ import annotations

import logging
from pathlib import Path

from methods.tokenize import check_tokenizer_pair

from bench.models import availability, fingerprint
from bench.recipe import Recipe, RecipeError

from .context import RunContext
from .data import data_availability, eval_data_availability, load_run_data
from .plan import Stage, base_models, compute_keys, uses_teacher

log = logging.getLogger("bench.run")


def check_availability(plan: dict[str, Stage], recipe: Recipe, data_dir: Path | None) -> dict[str, str]:
    """What cannot be had here (model or data set -> why); empty when the run can start."""

    missing = {}
    for model in base_models(plan):
        reason = availability(model)
        if reason:
            missing[f"model {model}"] = reason
    for name, reason in data_availability(recipe, data_dir).items():
        missing[f"data set {name}"] = reason
    evaluated = {b for stage in plan.values() if stage.kind == "eval" for b in stage.config["benchmarks"]}
    for name, reason in eval_data_availability(evaluated, data_dir).items():
        missing[f"benchmark {name}"] = reason
    return missing


def check_tokenizers(ctx: RunContext) -> None:
    """Teacher and student must share a tokenizer (top-K entries index the student's logits); top-K must fit it.
    A difference that the pipeline's template rule covers (methods.tokenize) is a warning on the terminal and in
    the run log."""
    student = ctx.tokenizer("student")
    if uses_teacher(ctx.plan):
        pair = check_tokenizer_pair(ctx.tokenizer("teacher"), student, ctx.teacher, ctx.student)
        for warning in pair.warnings:
            log.warning("%s", warning)
    if any(s.kind in ("topk", "advantages", "sample_topk") for s in ctx.plan.values()) and ctx.recipe.topk.k > len(student):
        raise RecipeError(f"{ctx.recipe.source}: topk.k: {ctx.recipe.topk.k} is larger than the vocabulary of "
                          f"{ctx.student} ({len(student)} tokens)")


def check_training_data(ctx: RunContext) -> None:
    """Tokenise the training data the plan reads (kept for the stages), so a data set that nothing is left of after
    filtering (every prompt too long, every pair's answers identical) fails here, naming it, before any stage."""
    kinds = {kind for stage in ctx.plan.values() for kind in stage.data if kind in ("sft", "pref_train")}
    for kind in sorted(kinds):
        ctx.examples("student", kind)


def prepare(plan: dict[str, Stage], recipe: Recipe, student: str, teacher: str, seed: int, data_dir: Path | None,
            reporter) -> RunContext:
    """Fingerprint models, load the data, check tokenizers, key every stage. Raises ModelUnavailable,
    DataUnavailable, RecipeError or ValueError (incompatible tokenizers) with a message for the user."""

    fingerprints = {m: fingerprint(m) for m in set(base_models(plan)) | {student}}
    data = load_run_data(recipe, data_dir)
    ctx = RunContext(recipe, student, teacher, seed, plan, None, data, reporter, data_dir)
    check_tokenizers(ctx)
    check_training_data(ctx)
    compute_keys(plan, fingerprints, data.versions, seed, student)
    return ctx
