"""The teacher precompute stages: the DPO teacher's top-K distributions on the training pairs (DCKD) and on a
student's samples (GKD, DistiLLM-2), and its
per-token advantages over the advantage reference on a student's samples (ADPA). Both run the teacher on the
student's tokenisation, since the student trains on exactly those tokens."""
from __future__ import annotations

from pathlib import Path

import torch

from methods.examples import response_view, with_samples
from methods.precision import Precision
from methods.topk import precompute_advantages, precompute_teacher_topk

from bench.models import dtype_name, load_model

from .context import RunContext
from .plan import Stage
from .samples import read_samples, samples_per_prompt


def run_topk(ctx: RunContext, stage: Stage, out: Path) -> dict:
    tokenizer = ctx.tokenizer("student")
    precision = Precision.from_dict(stage.config["precision"])
    model = load_model(str(ctx.model_dir(stage.deps["teacher"])), "frozen", precision)
    examples = ctx.examples("student", "pref_train")
    k, max_tokens = stage.config["topk"]["k"], stage.config["topk"]["max_tokens"]
    tokens = sum(len(e["chosen_ids"]) + len(e["rejected_ids"]) for e in examples)
    with ctx.reporter.task(f"{stage.name} (teacher forward)", tokens, "tokens") as task:
        for side in ("chosen", "rejected"):
            store = precompute_teacher_topk(model, response_view(examples, side), tokenizer.pad_token_id, k, max_tokens,
                                            progress=task.advance, metadata={"side": side, "stage": stage.key})
            store.save(out / f"{side}.safetensors")
    return {"examples": len(examples), "tokens": tokens, "k": k, "model_dtype": dtype_name(model)}


def run_advantages(ctx: RunContext, stage: Stage, out: Path) -> dict:
    tokenizer = ctx.tokenizer("student")
    precision = Precision.from_dict(stage.config["precision"])
    dpo = load_model(str(ctx.model_dir(stage.deps["dpo_teacher"])), "frozen", precision)
    baseline = load_model(str(ctx.model_dir(stage.deps["advantage_baseline"])), "frozen", precision)
    examples = with_samples(ctx.examples("student", "pref_train"), read_samples(ctx.stage_dir(stage.deps["samples"])))
    view = response_view(examples, "sample")
    with ctx.reporter.task(f"{stage.name} (teachers forward)", sum(len(e["response_ids"]) for e in view), "tokens") as task:
        store = precompute_advantages(dpo, baseline, view, tokenizer.pad_token_id, stage.config["topk"]["k"],
                                      stage.config["floor"], stage.config["topk"]["max_tokens"], progress=task.advance,
                                      metadata={"baseline": stage.config["baseline"], "stage": stage.key})
    store.save(out / "advantages.safetensors")
    best = store.values[:, 0] if len(store.values) else torch.zeros(1)
    return {"examples": len(view), "tokens": int(store.tokens.numel()), "mean_top_advantage": float(best.mean()),
            "model_dtype": dtype_name(dpo), "baseline_dtype": dtype_name(baseline)}


def run_sample_topk(ctx: RunContext, stage: Stage, out: Path) -> dict:
    """The DPO teacher's top-K on every student sample, in the samples stage's row order (prompt i, sample j)."""
    tokenizer = ctx.tokenizer("student")
    model = load_model(str(ctx.model_dir(stage.deps["teacher"])), "frozen", Precision.from_dict(stage.config["precision"]))
    samples_stage = ctx.plan[stage.deps["samples"]]
    examples = with_samples(ctx.examples("student", "pref_train"), read_samples(ctx.stage_dir(stage.deps["samples"])),
                            samples_per_prompt(samples_stage))
    view = response_view(examples, "sample")
    k, max_tokens = stage.config["topk"]["k"], stage.config["topk"]["max_tokens"]
    with ctx.reporter.task(f"{stage.name} (teacher forward)", sum(len(e["response_ids"]) for e in view), "tokens") as task:
        store = precompute_teacher_topk(model, view, tokenizer.pad_token_id, k, max_tokens, progress=task.advance,
                                        metadata={"side": "sample", "stage": stage.key})
    store.save(out / "sample.safetensors")
    return {"examples": len(view), "tokens": int(store.tokens.numel()), "k": k, "model_dtype": dtype_name(model)}
