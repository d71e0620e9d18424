"""`gold`: greedy answers to the built-in held-out prompts, scored exactly by the constraint verifier.

Metrics: prompt-level accuracy (all of a prompt's constraints satisfied; items = prompts) and instruction-level
accuracy (items = single constraints), each strict and loose as IFEval defines them; plus the two-turn prompts'
prompt-level strict/loose accuracy for turn 1 and turn 2 (turn 2 is answered after the model's own turn-1 answer).
Every item is pass/fail, so intervals are Wilson's. Answers with their verdicts are exported to
<out_dir>/gold/answers.jsonl and two_turn.jsonl. Options: builtin_seed, max_new_tokens (256), batch_size (8),
two_turn (True).
"""
from __future__ import annotations

from pathlib import Path

from methods.generate import generate_text

from bench.datasets import builtin
from bench.io import write_jsonl
from bench.results.schema import BINARY

from . import register
from .base import Benchmark, BenchmarkResult, EvalContext, MetricResult, Sample
from .provenance import chat_template_id

BENCHMARK = "gold"


def _generate(ctx: EvalContext, prompts, settings: dict, label: str) -> list[str]:
    model, tokenizer = ctx.model_and_tokenizer()
    with ctx.progress(label, len(prompts), "prompts") as task:
        return generate_text(model, tokenizer, prompts, max_new_tokens=settings["max_new_tokens"],
                             batch_size=settings["batch_size"], temperature=0.0, progress=task.advance)


def item_scores(item_ids: list[str], verdicts) -> dict[str, dict[str, float]]:
    """metric -> {item id -> 0/1}: prompts for the prompt-level metrics, each prompt's constraints (``id/k``) for
    the instruction-level ones."""
    out = {m: {} for m in ("prompt_level_strict_acc", "prompt_level_loose_acc", "inst_level_strict_acc", "inst_level_loose_acc")}
    for item_id, verdict in zip(item_ids, verdicts):
        out["prompt_level_strict_acc"][item_id] = float(verdict.all_strict)
        out["prompt_level_loose_acc"][item_id] = float(verdict.all_loose)
        for k, check in enumerate(verdict.checks):
            out["inst_level_strict_acc"][f"{item_id}/{k}"] = float(check.strict)
            out["inst_level_loose_acc"][f"{item_id}/{k}"] = float(check.loose)
    return out


def _rows(prefix: str, scores: dict[str, dict[str, float]], details: dict) -> list[MetricResult]:
    return [MetricResult(BENCHMARK, f"{prefix}{metric}", sum(items.values()) / len(items), n_items=len(items),
                         details=details, item_scores=items, score_kind=BINARY) for metric, items in scores.items()]


def _rationale(verdict) -> str:
    return ("exact verifier, failed: " + "; ".join(verdict.failed)) if verdict.failed else "exact verifier: every instruction followed"


def run(ctx: EvalContext) -> BenchmarkResult:
    seed = int(ctx.options.get("builtin_seed", builtin.DEFAULT_SEED))
    settings = {"max_new_tokens": int(ctx.option(BENCHMARK, "max_new_tokens", 256)),
                "batch_size": int(ctx.option(BENCHMARK, "batch_size", 8)), "temperature": 0.0, "decoding": "greedy"}
    data = builtin.build(seed, n_train=0)  # the test and two-turn splits do not depend on the training size
    items = list(data.test[: ctx.limit] if ctx.limit else data.test)
    _, tokenizer = ctx.model_and_tokenizer()
    out_dir = Path(ctx.out_dir) / BENCHMARK
    details = {"judge": builtin.GOLD_JUDGE_ID, "dataset": "built-in checkable instructions (held-out split)",
               "data_version": data.data_version, "generator_version": data.version, "data_seed": seed,
               "generation": settings, "chat_template": chat_template_id(tokenizer), "limit": ctx.limit}

    answers = _generate(ctx, [it.messages for it in items], settings, "gold: answering")
    verdicts = [builtin.verify(it, a) for it, a in zip(items, answers)]
    write_jsonl(out_dir / "answers.jsonl", [
        {"id": it.id, "prompt": it.prompt, "constraints": [c.to_dict() for c in it.constraints], "answer": a,
         "verdict": v.to_dict()} for it, a, v in zip(items, answers, verdicts)])
    metrics = _rows("", item_scores([it.id for it in items], verdicts), details)
    samples = [Sample(BENCHMARK, it.id, it.prompt, a, float(v.all_strict), _rationale(v))
               for it, a, v in zip(items, answers, verdicts)]
    exports = {"answers": str(out_dir / "answers.jsonl")}
    if ctx.option(BENCHMARK, "two_turn", True):
        metrics += _two_turn(ctx, data, settings, details, out_dir)
        exports["two_turn"] = str(out_dir / "two_turn.jsonl")
    return BenchmarkResult(BENCHMARK, metrics, samples, exports)


def _two_turn(ctx, data, settings, details, out_dir) -> list[MetricResult]:
    items = list(data.two_turn[: ctx.limit] if ctx.limit else data.two_turn)
    first_prompts = [[{"role": "user", "content": it.turns[0].prompt}] for it in items]
    first = _generate(ctx, first_prompts, settings, "gold: two-turn, turn 1")
    second_prompts = [p + [{"role": "assistant", "content": a or " "}, {"role": "user", "content": it.turns[1].prompt}]
                      for p, a, it in zip(first_prompts, first, items)]
    second = _generate(ctx, second_prompts, settings, "gold: two-turn, turn 2")
    v1 = [builtin.verify(it.turns[0], a) for it, a in zip(items, first)]
    v2 = [builtin.verify(it.turns[1], a) for it, a in zip(items, second)]
    write_jsonl(out_dir / "two_turn.jsonl", [
        {"id": it.id, "change": it.change, "turns": [
            {"prompt": t.prompt, "constraints": [c.to_dict() for c in t.constraints], "answer": a, "verdict": v.to_dict()}
            for t, a, v in zip(it.turns, answers, verdicts)]}
        for it, answers, verdicts in zip(items, zip(first, second), zip(v1, v2))])
    rows = []
    for turn, verdicts in (("turn1", v1), ("turn2", v2)):
        scores = item_scores([it.id for it in items], verdicts)
        rows += _rows(f"two_turn/{turn}_", {k: v for k, v in scores.items() if k.startswith("prompt_level")}, details)
    return rows


register(Benchmark(BENCHMARK, "built-in held-out prompts with checkable constraints, exact verifier (gold judge); "
                              "plus two-turn prompts", run,
                   ("builtin_seed", "max_new_tokens", "batch_size", "two_turn")))
