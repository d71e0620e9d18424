"""What each kind of stage computes. Every function writes only into ``out`` (a temporary directory that
the runner renames into place afterwards) and returns a small summary for the stage's manifest."""
from __future__ import annotations

import contextlib
import io
import json
import logging
import math
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers import TrainerCallback

from methods.base import REF_LOGPS, LossConfig
from methods.examples import attach_advantages, attach_ref_logps, attach_teacher_topk, response_view, with_samples
from methods.generate import generate_ids
from methods.registry import get_method
from methods.topk import TopKStore, precompute_advantages, precompute_sequence_logps, precompute_teacher_topk
from methods.trainer import train, training_arguments

from bench.models import load_model, load_tokenizer

from .cache import StageCache
from .data import RunData, tokenised_pairs, tokenised_sft
from .eval_extras import checkpoint_curves, collect_samples
from .plan import Stage
from .progress import StageProgress

log = logging.getLogger("bench.run")


def set_determinism(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)
    # warn_only: a few CPU kernels have no deterministic variant; on CPU the ones used here are deterministic.
    torch.use_deterministic_algorithms(True, warn_only=True)


@dataclass
class RunContext:
    recipe: dict
    student: str
    teacher: str
    seed: int
    plan: dict[str, Stage]
    cache: StageCache
    data: RunData
    progress: StageProgress
    data_dir: Path | None = None
    _tokenizers: dict = field(default_factory=dict)
    _examples: dict = field(default_factory=dict)

    def stage_dir(self, name: str) -> Path:
        stage = self.plan[name]
        return self.cache.final_dir(name, stage.key)

    def model_dir(self, name: str) -> Path:
        return self.stage_dir(name) / "model"

    def tokenizer(self, role: str):
        spec = self.teacher if role == "teacher" else self.student
        if spec not in self._tokenizers:
            self._tokenizers[spec] = load_tokenizer(spec)
        return self._tokenizers[spec]

    def examples(self, role: str, kind: str) -> list[dict]:
        """Tokenised data: kind "sft", "pref_train" or "pref_test", with ``role``'s tokenizer."""
        if (role, kind) not in self._examples:
            tok = self.tokenizer(role)
            records = getattr(self.data, kind)
            fn = tokenised_sft if kind == "sft" else tokenised_pairs
            self._examples[(role, kind)] = fn(tok, records, self.recipe, f"{self.recipe['data']['sft_source' if kind == 'sft' else 'source']}:{kind}")
        return self._examples[(role, kind)]


def _save_model(model, tokenizer, folder: Path) -> None:
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)


class _StepProgress(TrainerCallback):
    def __init__(self, progress: StageProgress, stage: str, per_step: int):
        self.progress, self.stage, self.per_step = progress, stage, per_step

    def on_train_begin(self, args, state, control, **kwargs):
        self.progress.start(self.stage, state.max_steps * self.per_step, "examples")

    def on_step_end(self, args, state, control, **kwargs):
        self.progress.advance(self.per_step)
        log.info("[%s] step %d/%d", self.stage, state.global_step, state.max_steps)


class _Checkpoints(TrainerCallback):
    """Saves the weights (safetensors, no optimiser state) at step 0 and at ``count`` evenly spaced later steps
    before the last, for the training-curve evaluation; the final weights are the stage's model."""

    def __init__(self, model, tokenizer, folder: Path, count: int):
        self.model, self.tokenizer, self.folder, self.count = model, tokenizer, folder, count
        self.steps: set[int] = set()

    def _save(self, step: int) -> None:
        _save_model(self.model, self.tokenizer, self.folder / f"step-{step:05d}")

    def on_train_begin(self, args, state, control, **kwargs):
        total = state.max_steps
        self.steps = {round(total * i / (self.count + 1)) for i in range(1, self.count + 1)} - {0, total}
        self._save(0)

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step in self.steps:
            self._save(state.global_step)


def run_train(ctx: RunContext, stage: Stage, out: Path) -> dict:
    cfg = stage.config
    method = get_method(cfg["method"])
    tokenizer = ctx.tokenizer(stage.role)
    pad_id = tokenizer.pad_token_id
    model_spec = stage.base_model or str(ctx.model_dir(stage.deps["init"]))
    model = load_model(model_spec)
    t = cfg["training"]
    if not t["epochs"] and (t.get("max_steps") or 0) <= 0:  # epochs 0: the recipe uses the starting model as it is
        _save_model(model, tokenizer, out / "model")
        return {"examples": 0, "steps": 0, "final_loss": None, "mean_loss": None, "last_metrics": {},
                "note": f"epochs 0: {model_spec} used as is"}
    examples = ctx.examples(stage.role, "sft" if method.data == "sft" else "pref_train")
    if REF_LOGPS in method.needs:  # the frozen reference is the initial weights: score before training
        ctx.progress.start(f"{stage.name}:ref", 2 * len(examples), "seqs")
        tick = lambda n: None  # noqa: E731 - token counts; the bar counts sequences
        chosen = precompute_sequence_logps(model, response_view(examples, "chosen"), pad_id, progress=tick)
        ctx.progress.advance(len(examples))
        rejected = precompute_sequence_logps(model, response_view(examples, "rejected"), pad_id, progress=tick)
        ctx.progress.advance(len(examples))
        examples = attach_ref_logps(examples, chosen, rejected)
    if "teacher_topk" in stage.deps:
        topk_dir = ctx.stage_dir(stage.deps["teacher_topk"])
        for side in ("chosen", "rejected"):
            examples = attach_teacher_topk(examples, TopKStore.load(topk_dir / f"{side}.safetensors"), side, f"{topk_dir.name}/{side}")
    if "samples" in stage.deps:
        examples = with_samples(examples, read_samples(ctx.stage_dir(stage.deps["samples"])))
    if "advantages" in stage.deps:
        adv_dir = ctx.stage_dir(stage.deps["advantages"])
        examples = attach_advantages(examples, TopKStore.load(adv_dir / "advantages.safetensors"), adv_dir.name)
    args = training_arguments(
        str(out / "trainer"), learning_rate=t["learning_rate"], epochs=t["epochs"], batch_size=t["batch_size"],
        grad_accum=t["grad_accum"], seed=ctx.seed, warmup_ratio=t["warmup_ratio"], scheduler=t["scheduler"],
        max_steps=t.get("max_steps", -1) or -1,
    )
    set_determinism(ctx.seed)
    callbacks = [_StepProgress(ctx.progress, stage.name, t["batch_size"] * t["grad_accum"])]
    if t.get("checkpoints"):
        callbacks.append(_Checkpoints(model, tokenizer, out / "checkpoints", int(t["checkpoints"])))
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):  # the Trainer prints a dict per logging step
        trainer = train(method, model, examples, pad_id, LossConfig.from_dict(cfg["loss"]), args, callbacks=callbacks)
    ctx.progress.stop()
    history = [h for h in trainer.state.log_history if "loss" in h]
    (out / "log_history.jsonl").write_text("".join(json.dumps(h) + "\n" for h in trainer.state.log_history))
    _save_model(model, tokenizer, out / "model")
    shutil.rmtree(out / "trainer", ignore_errors=True)
    return {"examples": len(examples), "steps": trainer.state.global_step,
            "final_loss": history[-1]["loss"] if history else None,
            "mean_loss": sum(h["loss"] for h in history) / len(history) if history else None,
            "last_metrics": {k: v for k, v in (history[-1] if history else {}).items() if "/" in k}}


def run_topk(ctx: RunContext, stage: Stage, out: Path) -> dict:
    tokenizer = ctx.tokenizer("student")
    model = load_model(str(ctx.model_dir(stage.deps["teacher"])))
    examples = ctx.examples("student", "pref_train")
    k, max_tokens = stage.config["topk"]["k"], stage.config["topk"]["max_tokens"]
    tokens = sum(len(e["chosen_ids"]) + len(e["rejected_ids"]) for e in examples)
    ctx.progress.start(stage.name, tokens, "tokens")
    for side in ("chosen", "rejected"):
        store = precompute_teacher_topk(model, response_view(examples, side), tokenizer.pad_token_id, k, max_tokens,
                                        progress=ctx.progress.advance, metadata={"side": side, "stage": stage.key})
        store.save(out / f"{side}.safetensors")
    ctx.progress.stop()
    return {"examples": len(examples), "tokens": tokens, "k": k}


def read_samples(stage_dir: Path) -> list[list[int]]:
    return [json.loads(line)["ids"] for line in (stage_dir / "samples.jsonl").read_text().splitlines()]


def run_samples(ctx: RunContext, stage: Stage, out: Path) -> dict:
    tokenizer = ctx.tokenizer("student")
    model = load_model(str(ctx.model_dir(stage.deps["generator"])))
    examples = ctx.examples("student", "pref_train")
    gen, max_length = stage.config["generation"], stage.config["lengths"]["max_length"]
    ctx.progress.start(stage.name, len(examples), "prompts")
    set_determinism(ctx.seed)
    ids = generate_ids(model, [e["prompt_ids"] for e in examples], tokenizer.pad_token_id, tokenizer.eos_token_id,
                       max_new_tokens=gen["max_new_tokens"], batch_size=gen["batch_size"], temperature=0.0,
                       progress=ctx.progress.advance)
    ctx.progress.stop()
    # Keep prompt + sample within the pair length, as tokenisation does for dataset answers.
    ids = [s[: max(1, max_length - len(e["prompt_ids"]))] for s, e in zip(ids, examples)]
    lines = [json.dumps({"i": i, "ids": s, "text": tokenizer.decode(s, skip_special_tokens=True)}) for i, s in enumerate(ids)]
    (out / "samples.jsonl").write_text("\n".join(lines) + "\n")
    return {"samples": len(ids), "mean_tokens": sum(map(len, ids)) / len(ids),
            "ended_with_eos": sum(1 for s in ids if s and s[-1] == tokenizer.eos_token_id)}


def run_advantages(ctx: RunContext, stage: Stage, out: Path) -> dict:
    tokenizer = ctx.tokenizer("student")
    dpo = load_model(str(ctx.model_dir(stage.deps["dpo_teacher"])))
    reference = load_model(str(ctx.model_dir(stage.deps["reference"])))
    examples = with_samples(ctx.examples("student", "pref_train"), read_samples(ctx.stage_dir(stage.deps["samples"])))
    view = response_view(examples, "sample")
    ctx.progress.start(stage.name, sum(len(e["response_ids"]) for e in view), "tokens")
    store = precompute_advantages(dpo, reference, view, tokenizer.pad_token_id, stage.config["topk"]["k"], stage.config["ref_floor"],
                                  stage.config["topk"]["max_tokens"], progress=ctx.progress.advance,
                                  metadata={"reference": stage.config["reference"], "stage": stage.key})
    ctx.progress.stop()
    store.save(out / "advantages.safetensors")
    best = store.values[:, 0] if len(store.values) else torch.zeros(1)
    return {"examples": len(view), "tokens": int(store.tokens.numel()), "mean_top_advantage": float(best.mean())}


@torch.no_grad()
def heldout_metrics(model, examples: list[dict], pad_id: int) -> list[dict]:
    """Chosen-answer NLL (token mean per answer) and how often the chosen answer is likelier per token than the
    rejected one, on the held-out pairs: cheap, deterministic, and needs no judge."""
    from methods.batching import pad_sequences
    from methods.losses import response_mask, token_logps

    model.eval()
    nll, wins = [], []
    for start in range(0, len(examples), 8):
        chunk = examples[start : start + 8]
        means = {}
        for side in ("chosen", "rejected"):
            batch = pad_sequences([e["prompt_ids"] for e in chunk], [e[f"{side}_ids"] for e in chunk], pad_id)
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1].float()
            labels = batch["labels"][:, 1:]
            mask = response_mask(labels)
            means[side] = (token_logps(logits, labels).sum(-1) / mask.sum(-1).clamp(min=1)).tolist()
        nll += [-c for c in means["chosen"]]
        wins += [float(c > r) for c, r in zip(means["chosen"], means["rejected"])]
    n = len(examples)
    detail = {"data": "held-out preference pairs (test split)"}
    return [{"benchmark": "heldout", "metric": "chosen_nll", "value": sum(nll) / n, "n_items": n, "n_failures": 0, "stderr": None,
             "missing_reason": None, "details": detail},
            {"benchmark": "heldout", "metric": "pair_accuracy", "value": sum(wins) / n, "n_items": n, "n_failures": 0,
             "stderr": math.sqrt(max(sum(wins) / n * (1 - sum(wins) / n), 0.0) / n), "missing_reason": None, "details": detail}]


def _external_evaluate():
    try:
        from bench.commands.eval import evaluate
    except ImportError:
        return None
    return evaluate


def run_eval(ctx: RunContext, stage: Stage, out: Path) -> dict:
    import inspect

    cfg = stage.config
    model_dir = ctx.model_dir(stage.deps["model"])
    metrics: list[dict] = []
    notes, curves = [], []
    if cfg.get("heldout", True):
        tokenizer = ctx.tokenizer("student")
        model = load_model(str(model_dir))
        examples = ctx.examples("student", "pref_test")
        ctx.progress.start(stage.name, len(examples), "pairs")
        metrics += heldout_metrics(model, examples, tokenizer.pad_token_id)
        ctx.progress.advance(len(examples))
        ctx.progress.stop()
        del model
    benchmarks = list(cfg.get("benchmarks") or [])
    if benchmarks:
        evaluate = _external_evaluate()
        if evaluate is None:
            notes.append(f"benchmarks {benchmarks} skipped: bench.commands.eval.evaluate is not in this checkout")
            log.warning(notes[-1])
        else:
            timings: dict = {}
            # eval.limit is one number for every benchmark, or a mapping benchmark -> number (CPU-sized recipes).
            limits = cfg.get("limit")
            groups = [(b, limits.get(b)) for b in benchmarks] if isinstance(limits, dict) else [(benchmarks, limits)]
            params = inspect.signature(evaluate).parameters
            for names, limit in groups:
                names = [names] if isinstance(names, str) else names
                options = dict(cfg.get("options") or {})
                options["reference_model"] = (str(ctx.model_dir(stage.deps["reference"])) if "reference" in stage.deps
                                              else cfg.get("reference_base"))
                wanted = {"data_dir": ctx.data_dir, "out_dir": out / "eval", "limit": limit, "seed": ctx.seed,
                          "profile": ctx.recipe["profile"], "options": options, "timings": timings}
                kwargs = {k: v for k, v in wanted.items() if k in params}
                log.info("[%s] evaluate(%s, %s, %s)", stage.name, model_dir, names, kwargs)
                rows = evaluate(str(model_dir), names, **kwargs)
                metrics += [r.to_dict() if hasattr(r, "to_dict") else dict(r) for r in rows]
            log.info("[%s] benchmark seconds: %s", stage.name, timings)
            curves = _curves(ctx, stage, out, metrics, evaluate) if cfg.get("curves") else []
    samples = collect_samples(out / "eval")
    (out / "metrics.json").write_text(json.dumps({"metrics": metrics, "notes": notes, "curves": curves, "samples": samples},
                                                 indent=2, default=str))
    return {"metrics": len(metrics), "notes": notes, "curve_points": len(curves), "samples": len(samples)}


def _curves(ctx: RunContext, stage: Stage, out: Path, metrics: list[dict], evaluate) -> list[dict]:
    """The recipe's curve metric (eval.curves) for each checkpoint the training stage saved (training.checkpoints)."""
    model_stage = stage.deps["model"]
    checkpoints = ctx.stage_dir(model_stage) / "checkpoints"
    if not checkpoints.is_dir():
        return []
    curve = stage.config["curves"]
    limits = stage.config.get("limit")
    # The final model's value joins the curve, so the checkpoints are scored on the same items as the evaluation.
    limit = limits.get(curve["benchmark"]) if isinstance(limits, dict) else limits
    options = {**(stage.config.get("options") or {}), "reference_model": None}
    steps = ctx.cache.manifest(model_stage, ctx.plan[model_stage].key).get("summary", {}).get("steps")
    ctx.progress.start(f"{stage.name}:curve", len(list(checkpoints.glob("step-*"))), "checkpoints")

    def one(model_dir: str, names: list[str]) -> list:
        rows = evaluate(model_dir, names, data_dir=ctx.data_dir, out_dir=out / "curve" / Path(model_dir).name,
                        limit=limit, seed=ctx.seed, profile=ctx.recipe["profile"], options=options)
        ctx.progress.advance(1)
        return rows

    points = checkpoint_curves(checkpoints, steps, metrics, curve, one)
    ctx.progress.stop()
    return points


RUNNERS = {"train": run_train, "topk": run_topk, "samples": run_samples, "advantages": run_advantages, "eval": run_eval}
