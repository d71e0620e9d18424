"""`gold`: greedy answers to the built-in held-out prompts, scored exactly by the constraint verifier.

Rows: prompt-level accuracy (all of a prompt's constraints satisfied) and instruction-level accuracy
(fraction of all constraints satisfied), each strict and loose as IFEval defines them; plus the two-turn
prompts' prompt-level strict/loose accuracy for turn 1 and turn 2 (turn 2 is answered after the model's own
turn-1 answer). Answers with their verdicts go to <out_dir>/gold/answers.jsonl and two_turn.jsonl.
Options (ctx.options): builtin_seed, max_new_tokens (256), batch_size (8), two_turn (True).
"""
from __future__ import annotations

import time
from pathlib import Path

from . import register
from .base import Benchmark, EvalContext, MetricResult
from .provenance import chat_template_id, write_jsonl

BENCHMARK = "gold"


def _progress(total: int, label: str):
    from rich.progress import Progress

    progress = Progress(transient=True)
    task = progress.add_task(label, total=total)
    return progress, (lambda n: progress.advance(task, n))


def _generate(model, tokenizer, prompts, settings: dict, label: str) -> list[str]:
    from methods.generate import generate_text

    progress, advance = _progress(len(prompts), label)
    with progress:
        return generate_text(model, tokenizer, prompts, max_new_tokens=settings["max_new_tokens"],
                             batch_size=settings["batch_size"], temperature=0.0, progress=advance)


def summarise(verdicts) -> dict[str, float]:
    """Prompt-level and instruction-level accuracy, strict and loose, over a list of Verdicts."""
    n_prompts = len(verdicts)
    checks = [c for v in verdicts for c in v.checks]
    return {
        "prompt_level_strict_acc": sum(v.all_strict for v in verdicts) / n_prompts,
        "prompt_level_loose_acc": sum(v.all_loose for v in verdicts) / n_prompts,
        "inst_level_strict_acc": sum(c.strict for c in checks) / len(checks),
        "inst_level_loose_acc": sum(c.loose for c in checks) / len(checks),
    }


def run(ctx: EvalContext) -> list[MetricResult]:
    from bench.datasets import builtin

    seed = int(ctx.options.get("builtin_seed", builtin.DEFAULT_SEED))
    settings = {"max_new_tokens": int(ctx.options.get("max_new_tokens", 256)),
                "batch_size": int(ctx.options.get("batch_size", 8)), "temperature": 0.0, "decoding": "greedy"}
    data = builtin.build(seed, n_train=0)  # the test and two-turn splits do not depend on the training size
    items = list(data.test[: ctx.limit] if ctx.limit else data.test)
    model, tokenizer = ctx.model_and_tokenizer()
    details = {"judge": builtin.GOLD_JUDGE_ID, "data_version": data.data_version,
               "generator_version": data.version, "data_seed": seed, "generation": settings,
               "chat_template": chat_template_id(tokenizer), "model": ctx.model_spec, "limit": ctx.limit}
    out_dir = Path(ctx.out_dir) / BENCHMARK

    started = time.time()
    answers = _generate(model, tokenizer, [it.messages for it in items], settings, "gold: answering")
    verdicts = [builtin.verify(it, a) for it, a in zip(items, answers)]
    write_jsonl(out_dir / "answers.jsonl", [
        {"id": it.id, "prompt": it.prompt, "constraints": [c.to_dict() for c in it.constraints], "answer": a,
         "verdict": v.to_dict()} for it, a, v in zip(items, answers, verdicts)])
    row_details = {**details, "seconds": round(time.time() - started, 1), "answers": str(out_dir / "answers.jsonl")}
    n_constraints = sum(len(it.constraints) for it in items)
    rows = []
    for metric, value in summarise(verdicts).items():
        n = n_constraints if metric.startswith("inst") else len(items)
        rows.append(MetricResult(BENCHMARK, metric, value, n_items=n, details=row_details))

    if ctx.options.get("two_turn", True):
        rows += _two_turn(ctx, model, tokenizer, data, settings, details, out_dir)
    return rows


def _two_turn(ctx, model, tokenizer, data, settings, details, out_dir) -> list[MetricResult]:
    from bench.datasets import builtin

    items = list(data.two_turn[: ctx.limit] if ctx.limit else data.two_turn)
    started = time.time()
    first_prompts = [[{"role": "user", "content": it.turns[0].prompt}] for it in items]
    first = _generate(model, tokenizer, first_prompts, settings, "gold: two-turn, turn 1")
    second_prompts = [p + [{"role": "assistant", "content": a or " "}, {"role": "user", "content": it.turns[1].prompt}]
                      for p, a, it in zip(first_prompts, first, items)]
    second = _generate(model, tokenizer, second_prompts, settings, "gold: two-turn, turn 2")
    v1 = [builtin.verify(it.turns[0], a) for it, a in zip(items, first)]
    v2 = [builtin.verify(it.turns[1], a) for it, a in zip(items, second)]
    path = out_dir / "two_turn.jsonl"
    write_jsonl(path, [
        {"id": it.id, "change": it.change, "turns": [
            {"prompt": t.prompt, "constraints": [c.to_dict() for c in t.constraints], "answer": a, "verdict": v.to_dict()}
            for t, a, v in zip(it.turns, answers, verdicts)]}
        for it, answers, verdicts in zip(items, zip(first, second), zip(v1, v2))])
    row_details = {**details, "seconds": round(time.time() - started, 1), "answers": str(path)}
    rows = []
    for turn, verdicts in (("turn1", v1), ("turn2", v2)):
        summary = summarise(verdicts)
        for level in ("strict", "loose"):
            rows.append(MetricResult(BENCHMARK, f"two_turn/{turn}_prompt_level_{level}_acc",
                                     summary[f"prompt_level_{level}_acc"], n_items=len(items), details=row_details))
    return rows


register(Benchmark(BENCHMARK, "built-in held-out prompts with checkable constraints, exact verifier (gold judge); "
                              "plus two-turn prompts", run))
