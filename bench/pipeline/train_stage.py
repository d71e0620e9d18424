"""The training stage: one method's Trainer run from its starting weights, with the inputs its ``needs`` declare
attached to the examples (reference log-probs, teacher top-K, student samples, advantages).

A non-finite loss or gradient norm stops the stage with an error naming the step (``allow_nonfinite: true`` in
the stage's settings lets it run on), so a diverged model never reaches an evaluation or a report.
"""
from __future__ import annotations

import contextlib
import math
import os
import shutil
from pathlib import Path

from transformers import TrainerCallback

from methods.base import REF_LOGPS, LossConfig
from methods.precision import Precision
from methods.devices import model_device
from methods.examples import attach_advantages, attach_ref_logps, attach_teacher_topk, response_view, with_samples
from methods.on_policy import OnPolicySamples
from methods.registry import get_method
from methods.topk import TopKStore, precompute_sequence_logps
from methods.trainer import train, training_arguments

from bench.errors import DIVERGED, BenchError
from bench.io import write_jsonl
from bench.models import dtype_name, load_model
from bench.progress import Task
from bench.results import finite_or_none

from .context import RunContext, set_determinism
from .plan import Stage
from .samples import read_samples, samples_per_prompt


class NonFiniteTraining(BenchError, RuntimeError):
    """Training produced a NaN or infinite loss or gradient norm."""

    exit_code = DIVERGED


def save_model(model, tokenizer, folder: Path) -> None:
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)


class StepProgress(TrainerCallback):
    """Optimiser steps as a progress task (rate and ETA on the terminal, lines in the run log); it also stops the
    stage at the first non-finite loss or gradient norm the Trainer logs (it logs every step)."""

    def __init__(self, ctx: RunContext, stage: str, allow_nonfinite: bool):
        self.ctx, self.stage, self.allow_nonfinite = ctx, stage, allow_nonfinite
        self._task: contextlib.AbstractContextManager[Task] | None = None
        self.task: Task | None = None

    def on_train_begin(self, args, state, control, **kwargs):
        self._task = self.ctx.reporter.task(f"{self.stage} (train)", state.max_steps, "steps")
        self.task = self._task.__enter__()

    def on_step_end(self, args, state, control, **kwargs):
        self.task.advance(1)

    def on_log(self, args, state, control, logs=None, **kwargs):
        bad = {k: v for k, v in (logs or {}).items() if k in ("loss", "grad_norm") and isinstance(v, float) and not math.isfinite(v)}
        if bad and not self.allow_nonfinite:
            what = ", ".join(f"{k}={v}" for k, v in bad.items())
            raise NonFiniteTraining(f"stage {self.stage}: {what} at optimiser step {state.global_step}: training diverged "
                                    f"(lower stages.{self.stage}.learning_rate, or set stages.{self.stage}.allow_nonfinite=true "
                                    "to keep going); nothing was saved")

    def on_train_end(self, args, state, control, **kwargs):
        self.close()

    def close(self) -> None:
        if self._task is not None:
            self._task.__exit__(None, None, None)
            self._task = None


class Checkpoints(TrainerCallback):
    """Saves the weights (safetensors, no optimiser state) at step 0 and at ``count`` evenly spaced later steps
    before the last, for the training-curve evaluation; the final weights are the stage's model."""

    def __init__(self, model, tokenizer, folder: Path, count: int):
        self.model, self.tokenizer, self.folder, self.count = model, tokenizer, folder, count
        self.steps: set[int] = set()

    def _save(self, step: int) -> None:
        save_model(self.model, self.tokenizer, self.folder / f"step-{step:05d}")

    def on_train_begin(self, args, state, control, **kwargs):
        total = state.max_steps
        self.steps = {round(total * i / (self.count + 1)) for i in range(1, self.count + 1)} - {0, total}
        self._save(0)

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step in self.steps:
            self._save(state.global_step)


def _with_inputs(ctx: RunContext, stage: Stage, model, examples: list[dict], pad_id: int, autocast: bool) -> list[dict]:
    """Attach what the method needs: DPO reference log-probs (from the initial weights, before training, under the
    training's own autocast so the margin is 0 at step 0), the teacher's top-K probabilities, the student's samples
    (ADPA's second side) and their advantages."""
    method = get_method(stage.config["method"])
    if REF_LOGPS in method.needs:
        with ctx.reporter.task(f"{stage.name} (reference log-probs)", 2 * len(examples), "answers") as task:
            chosen = precompute_sequence_logps(model, response_view(examples, "chosen"), pad_id, bf16_autocast=autocast)
            task.advance(len(examples))
            rejected = precompute_sequence_logps(model, response_view(examples, "rejected"), pad_id, bf16_autocast=autocast)
            task.advance(len(examples))
        examples = attach_ref_logps(examples, chosen, rejected)
    if "teacher_topk" in stage.deps:
        topk_dir = ctx.stage_dir(stage.deps["teacher_topk"])
        # a method trained on (chosen, sample) pairs reads only the chosen side
        sides = ("chosen", "rejected") if method.second == "rejected" else ("chosen",)
        for side in sides:
            examples = attach_teacher_topk(examples, TopKStore.load(topk_dir / f"{side}.safetensors"), side, f"{topk_dir.name}/{side}")
    if "samples" in stage.deps:
        examples = with_samples(examples, read_samples(ctx.stage_dir(stage.deps["samples"])),
                                samples_per_prompt(ctx.plan[stage.deps["samples"]]))
    if "sample_topk" in stage.deps:
        topk_dir = ctx.stage_dir(stage.deps["sample_topk"])
        examples = attach_teacher_topk(examples, TopKStore.load(topk_dir / "sample.safetensors"), "sample", f"{topk_dir.name}/sample")
    if "advantages" in stage.deps:
        adv_dir = ctx.stage_dir(stage.deps["advantages"])
        examples = attach_advantages(examples, TopKStore.load(adv_dir / "advantages.safetensors"), adv_dir.name)
    return examples


def _on_policy(ctx: RunContext, stage: Stage, method, loss: LossConfig, tokenizer, args) -> OnPolicySamples | None:
    """The sampler that redraws student samples during training (methods.on_policy), for a method whose settings ask
    for it: the live DPO teacher of its sample top-K stage, that stage's K, its samples stage's length limits."""
    every = method.resample_every(loss)
    if not every:
        return None
    setting = f"stages.{stage.name}.loss.settings.resample_every"
    if partitioned(args):
        raise ValueError(f"{setting}: redrawing samples during training needs every process to hold the whole student "
                         "(a single process or plain data parallelism, not DeepSpeed or FSDP); set it to 0 to train on "
                         "the cached samples")
    topk_stage, samples_stage = ctx.plan[stage.deps["sample_topk"]], ctx.plan[stage.deps["samples"]]
    teacher = load_model(str(ctx.model_dir(topk_stage.deps["teacher"])), "frozen",
                         Precision.from_dict(topk_stage.config["precision"]))
    schedule = method.sampling(loss)
    return OnPolicySamples(teacher, tokenizer.pad_token_id, tokenizer.eos_token_id,
                           samples_stage.config["generation"]["max_new_tokens"],
                           samples_stage.config["lengths"]["max_length"], schedule.temperature, schedule.top_p,
                           topk_stage.config["topk"]["k"], ctx.seed, every)


def _summary(trainer, examples: list[dict]) -> dict:
    """Non-finite values (a run let through with allow_nonfinite) become null: the manifest is strict JSON."""
    history = [h for h in trainer.state.log_history if "loss" in h]
    return finite_or_none({"examples": len(examples), "steps": trainer.state.global_step,
                           "final_loss": history[-1]["loss"] if history else None,
                           "mean_loss": sum(h["loss"] for h in history) / len(history) if history else None,
                           "last_metrics": {k: v for k, v in (history[-1] if history else {}).items() if "/" in k}})


def partitioned(args) -> bool:
    """Whether the Trainer runs under DeepSpeed or FSDP (accelerate launch or the arguments), which may partition the
    module's own parameters over the processes."""
    launched = any(os.environ.get(k, "").lower() == "true" for k in ("ACCELERATE_USE_DEEPSPEED", "ACCELERATE_USE_FSDP"))
    return launched or bool(getattr(args, "deepspeed", None)) or bool(getattr(args, "fsdp", None))


def sharded(args) -> bool:
    """Whether the Trainer runs under DeepSpeed, FSDP or several processes: the parameters may be partitioned, and
    every process joins the save, so weights are saved through the Trainer and checkpoints are refused."""
    return partitioned(args) or args.world_size > 1


def run_train(ctx: RunContext, stage: Stage, out: Path) -> dict:
    cfg, t = stage.config, stage.config["training"]
    method = get_method(cfg["method"])
    tokenizer = ctx.tokenizer(stage.role)
    model_spec = stage.base_model or str(ctx.model_dir(stage.deps["init"]))
    precision = Precision.from_dict(cfg["precision"])
    model = load_model(model_spec, "trainable", precision)
    if not t["epochs"] and t["max_steps"] <= 0:  # epochs 0: the recipe uses the starting model as it is
        save_model(model, tokenizer, out / "model")
        return {"examples": 0, "steps": 0, "final_loss": None, "mean_loss": None, "last_metrics": {},
                "note": f"epochs 0: {model_spec} used as is"}
    examples = ctx.examples(stage.role, stage.data[0])  # "sft", "pref_train" or (the teacher's DPO) "pref_teacher"
    args = training_arguments(str(out / "trainer"), learning_rate=t["learning_rate"], precision=precision, epochs=t["epochs"],
                              batch_size=t["batch_size"], grad_accum=t["grad_accum"], seed=ctx.seed,
                              warmup_ratio=t["warmup_ratio"], scheduler=t["scheduler"], max_steps=t["max_steps"],
                              use_cpu=model_device(model).type == "cpu")  # bf16 autocast on a CPU needs it said
    examples = _with_inputs(ctx, stage, model, examples, tokenizer.pad_token_id, args.bf16)
    if t["checkpoints"] and sharded(args):
        raise ValueError(f"stages.{stage.name}.checkpoints: not supported under DeepSpeed, FSDP or several processes")
    loss = LossConfig.from_dict(cfg["loss"])
    on_policy = _on_policy(ctx, stage, method, loss, tokenizer, args)
    set_determinism(ctx.seed)
    progress = StepProgress(ctx, stage.name, t["allow_nonfinite"])
    callbacks = [progress] + ([Checkpoints(model, tokenizer, out / "checkpoints", t["checkpoints"])] if t["checkpoints"] else [])
    try:
        trainer = train(method, model, examples, tokenizer.pad_token_id, loss, args, callbacks=callbacks,
                        on_policy=on_policy)
    finally:
        progress.close()
    write_jsonl(out / "log_history.jsonl", finite_or_none(trainer.state.log_history))
    if sharded(args):  # ZeRO-3 / FSDP / several processes: every process joins the gather, process 0 writes
        trainer.save_model(str(out / "model"))
        tokenizer.save_pretrained(out / "model")
        (out / "model" / "training_args.bin").unlink(missing_ok=True)  # a pickle: never kept next to weights
    else:
        save_model(model, tokenizer, out / "model")
    shutil.rmtree(out / "trainer", ignore_errors=True)
    # The numerics it ran under, for the manifest: weights the optimiser updated, and whether bf16 autocast was on.
    return {**_summary(trainer, examples), "weights_dtype": dtype_name(model), "bf16_autocast": bool(args.bf16),
            **({"on_policy_samples": trainer.on_policy_summary()} if on_policy else {})}
