"""The student-samples stage: a student's responses to the training prompts, greedy (ADPA's second side) or sampled
by a method's schedule (GKD, DistiLLM-2: ``decoding`` holds temperature, top_p and samples_per_prompt). Sampled
responses are written prompt by prompt: row i * n + j is sample j of prompt i."""
from __future__ import annotations

import json
from pathlib import Path

from methods.generate import generate_ids, within_length
from methods.precision import Precision

from bench.io import write_jsonl
from bench.models import dtype_name, load_model

from .context import RunContext, set_determinism
from .plan import Stage


def read_samples(stage_dir: Path) -> list[list[int]]:
    return [json.loads(line)["ids"] for line in (stage_dir / "samples.jsonl").read_text().splitlines() if line.strip()]


def samples_per_prompt(stage: Stage) -> int:
    decoding = stage.config.get("decoding")
    return decoding["samples_per_prompt"] if isinstance(decoding, dict) else 1


def run_samples(ctx: RunContext, stage: Stage, out: Path) -> dict:
    tokenizer = ctx.tokenizer("student")
    model = load_model(str(ctx.model_dir(stage.deps["generator"])), "frozen", Precision.from_dict(stage.config["precision"]))
    examples = ctx.examples("student", "pref_train")
    gen, max_length = stage.config["generation"], stage.config["lengths"]["max_length"]
    decoding = stage.config["decoding"]
    sampled = isinstance(decoding, dict)
    n = samples_per_prompt(stage)
    temperature, top_p = (decoding["temperature"], decoding["top_p"]) if sampled else (0.0, 1.0)
    set_determinism(ctx.seed)
    rounds = []
    with ctx.reporter.task(f"{stage.name} (generate)", n * len(examples), "prompts") as task:
        for j in range(n):  # sample j of every prompt, with its own seed
            rounds.append(generate_ids(model, [e["prompt_ids"] for e in examples], tokenizer.pad_token_id,
                                       tokenizer.eos_token_id, max_new_tokens=gen["max_new_tokens"],
                                       batch_size=gen["batch_size"], temperature=temperature, top_p=top_p,
                                       seed=ctx.seed + 1000 * j, progress=task.advance))
    # Keep prompt + sample within the pair length, as tokenisation does for dataset answers.
    ids = [within_length(rounds[j][i], e["prompt_ids"], max_length) for i, e in enumerate(examples) for j in range(n)]
    write_jsonl(out / "samples.jsonl", [{"i": i, "ids": s, "text": tokenizer.decode(s, skip_special_tokens=True)}
                                        for i, s in enumerate(ids)])
    return {"samples": len(ids), "samples_per_prompt": n, "temperature": temperature, "mean_tokens": sum(map(len, ids)) / len(ids),
            "ended_with_eos": sum(1 for s in ids if s and s[-1] == tokenizer.eos_token_id), "model_dtype": dtype_name(model)}
