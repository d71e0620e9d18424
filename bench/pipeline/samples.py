"""The student-samples stage: greedy responses of a student to the training prompts (ADPA's second side)."""
from __future__ import annotations

import json
from pathlib import Path

from methods.generate import generate_ids
from methods.precision import Precision

from bench.io import write_jsonl
from bench.models import dtype_name, load_model

from .context import RunContext, set_determinism
from .plan import Stage


def read_samples(stage_dir: Path) -> list[list[int]]:
    return [json.loads(line)["ids"] for line in (stage_dir / "samples.jsonl").read_text().splitlines() if line.strip()]


def run_samples(ctx: RunContext, stage: Stage, out: Path) -> dict:
    tokenizer = ctx.tokenizer("student")
    model = load_model(str(ctx.model_dir(stage.deps["generator"])), "frozen", Precision.from_dict(stage.config["precision"]))
    examples = ctx.examples("student", "pref_train")
    gen, max_length = stage.config["generation"], stage.config["lengths"]["max_length"]
    set_determinism(ctx.seed)
    with ctx.reporter.task(f"{stage.name} (generate)", len(examples), "prompts") as task:
        ids = generate_ids(model, [e["prompt_ids"] for e in examples], tokenizer.pad_token_id, tokenizer.eos_token_id,
                           max_new_tokens=gen["max_new_tokens"], batch_size=gen["batch_size"], temperature=0.0,
                           progress=task.advance)
    # Keep prompt + sample within the pair length, as tokenisation does for dataset answers.
    ids = [s[: max(1, max_length - len(e["prompt_ids"]))] for s, e in zip(ids, examples)]
    write_jsonl(out / "samples.jsonl", [{"i": i, "ids": s, "text": tokenizer.decode(s, skip_special_tokens=True)}
                                        for i, s in enumerate(ids)])
    return {"samples": len(ids), "mean_tokens": sum(map(len, ids)) / len(ids),
            "ended_with_eos": sum(1 for s in ids if s and s[-1] == tokenizer.eos_token_id), "model_dtype": dtype_name(model)}
