"""`mt_bench`: MT-Bench as FastChat's llm_judge runs it, on any model and with any judge.

The 80 two-turn questions (``<data_dir>/mt_bench/question.jsonl``) are answered with the model's chat
template at FastChat's per-category temperatures; each turn is rated by single-answer grading with the
official judge prompts (single-v1 / single-math-v1 with GPT-4 reference answers for math, reasoning and
coding, and their multi-turn variants for turn 2). Ratings are parsed from ``[[x]]`` as FastChat does;
a judgment without a rating counts as a failure and is left out of every mean (FastChat's score -1).
Answers and judgments are written in FastChat's formats:
``<out_dir>/mt_bench/model_answer/<model_id>.jsonl`` and ``model_judgment/<judge>_single.jsonl``.
Options (ctx.options, ``mt_bench.<name>`` overrides ``<name>``): max_new_tokens (1024, FastChat's
default), batch_size (8), model_id.
"""
from __future__ import annotations

import json
import math
import os
import time
import uuid
from collections import defaultdict
from pathlib import Path

from . import register
from .base import Benchmark, EvalContext, MetricResult
from .provenance import chat_template_id, file_version, progress_bar, require_file, write_jsonl

BENCHMARK = "mt_bench"
try:  # FastChat's own table when its llm_judge module imports (it needs anthropic at import time)
    from fastchat.llm_judge.common import NEED_REF_CATS, temperature_config as TEMPERATURES

    TEMPERATURE_SOURCE = "fastchat.llm_judge.common.temperature_config"
except Exception:  # noqa: BLE001
    # The same numbers as fastchat/llm_judge/common.py (fschat 0.2.36).
    TEMPERATURES = {"writing": 0.7, "roleplay": 0.7, "extraction": 0.0, "math": 0.0, "coding": 0.0,
                    "reasoning": 0.0, "stem": 0.1, "humanities": 0.1, "arena-hard-200": 0.0}
    NEED_REF_CATS = ["math", "reasoning", "coding", "arena-hard-200"]
    TEMPERATURE_SOURCE = "fastchat 0.2.36 temperature_config (as data)"
DEFAULT_TEMPERATURE = 0.7  # FastChat's value for a category not in the table


def option(ctx: EvalContext, name: str, default):
    return ctx.options.get(f"{BENCHMARK}.{name}", ctx.options.get(name, default))


def data_dir(ctx: EvalContext) -> Path:
    folder = ctx.data_dir or os.environ.get("BENCH_DATA_DIR")
    if not folder:
        raise FileNotFoundError("MT-Bench needs the data directory: pass --data-dir or set BENCH_DATA_DIR")
    return Path(folder) / "mt_bench"


def _read_jsonl(path: Path, required: tuple[str, ...]) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}: line {n}: not JSON ({err})") from None
            missing = [k for k in required if k not in row]
            if missing:
                raise ValueError(f"{path}: line {n}: missing field(s) {', '.join(missing)}")
            rows.append(row)
    return rows


def load_data(folder: Path) -> tuple[list[dict], dict, dict, dict]:
    """Questions, judge prompts by name, reference answers by question id, data versions."""
    files = {name: require_file(folder / name, f"MT-Bench {what}") for name, what in (
        ("question.jsonl", "questions"), ("judge_prompts.jsonl", "judge prompts"),
        ("reference_answer_gpt-4.jsonl", "reference answers"))}
    questions = _read_jsonl(files["question.jsonl"], ("question_id", "category", "turns"))
    for q in questions:
        if not isinstance(q["turns"], list) or len(q["turns"]) != 2:
            raise ValueError(f"{files['question.jsonl']}: question {q['question_id']}: field turns must hold 2 turns")
    prompts = {p["name"]: p for p in _read_jsonl(files["judge_prompts.jsonl"], ("name", "system_prompt", "prompt_template", "output_format"))}
    for name in ("single-v1", "single-math-v1", "single-v1-multi-turn", "single-math-v1-multi-turn"):
        if name not in prompts:
            raise ValueError(f"{files['judge_prompts.jsonl']}: judge prompt {name!r} is missing")
    refs = {r["question_id"]: r for r in _read_jsonl(files["reference_answer_gpt-4.jsonl"], ("question_id", "choices"))}
    versions = {name: file_version(path) for name, path in files.items()}
    return questions, prompts, refs, versions


def generate_answers(model, tokenizer, questions: list[dict], max_new_tokens: int, batch_size: int, seed: int) -> dict:
    """question_id -> [turn-1 answer, turn-2 answer]; turn 2 sees the model's own turn-1 answer."""
    from methods.generate import generate_text

    answers: dict = {q["question_id"]: [] for q in questions}
    by_temperature = defaultdict(list)
    for q in questions:
        by_temperature[TEMPERATURES.get(q["category"], DEFAULT_TEMPERATURE)].append(q)
    with progress_bar() as bar:
        task = bar.add_task("MT-Bench answers", total=2 * len(questions))
        for turn in range(2):
            for temperature, group in sorted(by_temperature.items()):
                chats = []
                for q in group:
                    chat = []
                    for t in range(turn):
                        chat += [{"role": "user", "content": q["turns"][t]}, {"role": "assistant", "content": answers[q["question_id"]][t]}]
                    chats.append(chat + [{"role": "user", "content": q["turns"][turn]}])
                texts = generate_text(model, tokenizer, chats, max_new_tokens=max_new_tokens, batch_size=batch_size,
                                      temperature=temperature, seed=seed + turn,
                                      progress=lambda n: bar.advance(task, n))
                for q, text in zip(group, texts):
                    answers[q["question_id"]].append(text)
    return answers


def judge_prompt(question: dict, answer: list[str], prompts: dict, refs: dict, turn: int) -> tuple[str, list[dict]]:
    """(prompt name, chat messages) for one turn: FastChat's make_judge_single choice and run_judge_single format."""
    needs_ref = question["category"] in NEED_REF_CATS
    name = ("single-math-v1" if needs_ref else "single-v1") + ("-multi-turn" if turn == 2 else "")
    template = prompts[name]
    kwargs = {}
    if needs_ref:
        ref = refs.get(question["question_id"])
        if ref is None:
            raise ValueError(f"reference_answer_gpt-4.jsonl: no reference answer for question {question['question_id']}")
        kwargs["ref_answer_1"] = ref["choices"][0]["turns"][0]
        if turn == 2:
            kwargs["ref_answer_2"] = ref["choices"][0]["turns"][1]
    if turn == 2:
        user = template["prompt_template"].format(question_1=question["turns"][0], question_2=question["turns"][1],
                                                  answer_1=answer[0], answer_2=answer[1], **kwargs)
    else:
        user = template["prompt_template"].format(question=question["turns"][0], answer=answer[0], **kwargs)
    return name, [{"role": "system", "content": template["system_prompt"]}, {"role": "user", "content": user}]


def _mean_sem(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, None
    var = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
    return mean, math.sqrt(var / len(values))


def run(ctx: EvalContext) -> list[MetricResult]:
    from bench.judges import RatingRequest, judge_for
    from bench.judges.parsing import PATTERN_SOURCE

    started = time.time()
    questions, prompts, refs, versions = load_data(data_dir(ctx))
    if ctx.limit:
        questions = questions[: ctx.limit]
    out = Path(ctx.out_dir) / BENCHMARK
    model, tokenizer = ctx.model_and_tokenizer()
    model_id = option(ctx, "model_id", None) or Path(str(ctx.model_spec)).name
    generation = {"max_new_tokens": int(option(ctx, "max_new_tokens", 1024)), "batch_size": int(option(ctx, "batch_size", 8)),
                  "temperatures": dict(TEMPERATURES), "default_temperature": DEFAULT_TEMPERATURE,
                  "temperature_source": TEMPERATURE_SOURCE, "sampling": "greedy at 0, else multinomial (top_p 1)"}
    answers = generate_answers(model, tokenizer, questions, generation["max_new_tokens"], generation["batch_size"], ctx.seed)
    answer_file = out / "model_answer" / f"{model_id}.jsonl"
    now = time.time()
    write_jsonl(answer_file, [{"question_id": q["question_id"], "answer_id": uuid.uuid4().hex[:22], "model_id": model_id,
                               "choices": [{"index": 0, "turns": answers[q["question_id"]]}], "tstamp": now} for q in questions])
    gen_s = time.time() - started

    judge, reason = judge_for(ctx, BENCHMARK)
    jobs = []
    for q in questions:
        for turn in (1, 2):
            name, messages = judge_prompt(q, answers[q["question_id"]], prompts, refs, turn)
            jobs.append((q, turn, name, messages))
    with progress_bar() as bar:
        task = bar.add_task(f"MT-Bench judging ({judge.id})", total=len(jobs))
        ratings = judge.rate([RatingRequest(messages=m) for *_, m in jobs], progress=lambda n: bar.advance(task, n))
    judge_name = judge.settings.get("model", judge.id)
    judgment_file = out / "model_judgment" / f"{judge.id.replace('/', '_').replace(':', '_')}_single.jsonl"
    now = time.time()
    write_jsonl(judgment_file, [{"question_id": q["question_id"], "model": model_id, "judge": [judge_name, name],
                                 "user_prompt": messages[1]["content"], "judgment": r.raw if r.raw is not None else "$ERROR$",
                                 "score": r.rating if r.rating is not None else -1, "turn": turn, "tstamp": now,
                                 **({"error": r.error} if r.error else {})}
                                for (q, turn, name, messages), r in zip(jobs, ratings)])

    details = {"benchmark": "MT-Bench (FastChat llm_judge, single-answer grading)", "data_version": versions,
               "judge": {**judge.describe(), "selected": reason, "stats": judge.stats.as_dict()},
               "generation": generation, "chat_template": chat_template_id(tokenizer), "seed": ctx.seed,
               "model": str(ctx.model_spec), "model_id": model_id, "n_questions": len(questions),
               "answer_file": str(answer_file), "judgment_file": str(judgment_file),
               "rating_parser": f"[[x]] then [x], from {PATTERN_SOURCE}",
               "timings_s": {"generate": round(gen_s, 1), "judge": round(time.time() - started - gen_s, 1)}}

    def row(metric: str, selected: list) -> MetricResult:
        scores = [r.rating for (_, _, _, _), r in selected if r.rating is not None]
        failures = [(job[0]["question_id"], job[1], r.error) for job, r in selected if r.rating is None]
        mean, sem = _mean_sem(scores)
        return MetricResult(BENCHMARK, metric, mean, n_items=len(selected), n_failures=len(failures), stderr=sem,
                            missing_reason=None if scores else f"no judgment had a rating ({len(failures)} failed)",
                            details={**details, "n_rated": len(scores),
                                     "failures": [{"question_id": q, "turn": t, "error": e} for q, t, e in failures[:20]]})

    pairs = list(zip(jobs, ratings))
    rows = [row("turn1", [p for p in pairs if p[0][1] == 1]), row("turn2", [p for p in pairs if p[0][1] == 2]),
            row("average", pairs)]
    for category in sorted({q["category"] for q in questions}):
        rows.append(row(f"category/{category}", [p for p in pairs if p[0][0]["category"] == category]))
    return rows


register(Benchmark(BENCHMARK, "MT-Bench: 80 two-turn questions, single-answer grading by a judge (FastChat llm_judge)", run))
