"""`mt_bench`: MT-Bench as FastChat's llm_judge runs it, on any model and with any judge.

The 80 two-turn questions (``<data_dir>/mt_bench/question.jsonl``) are answered with the model's chat
template at FastChat's per-category temperatures; each turn is rated by single-answer grading with the
official judge prompts (single-v1 / single-math-v1 with GPT-4 reference answers for math, reasoning and
coding, and their multi-turn variants for turn 2). Ratings are parsed from ``[[x]]`` as FastChat does;
a judgment without a rating counts as a failure and is left out of every mean (FastChat's score -1).
Items are (question, turn) ratings, so intervals are bootstrap intervals over them and two models are compared
on the same (question, turn) pairs. Answers and judgments are exported in FastChat's formats, under the run's own
model id (e.g. ``smollm2-8l-adpa-s42``) so FastChat's ``show_result`` can put several runs side by side:
``<out_dir>/mt_bench/model_answer/<model_id>.jsonl`` and ``model_judgment/<judge>_single.jsonl``.
Options (``mt_bench.<name>`` overrides ``<name>``): max_new_tokens (1024, FastChat's default), batch_size (8),
model_id.
"""
from __future__ import annotations

import json
import time
import uuid
from collections import defaultdict
from pathlib import Path

from methods.generate import generate_text

from bench.datasets import data_folder
from bench.io import write_jsonl
from bench.judges import RatingRequest, judge_for
from bench.judges.parsing import PATTERN_SOURCE
from bench.results.schema import CONTINUOUS

from . import register
from .base import Benchmark, BenchmarkResult, EvalContext, MetricResult, Sample
from .provenance import chat_template_id, file_version, require_file

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


def data_dir(ctx: EvalContext) -> Path:
    return data_folder(ctx.data_dir, "mt_bench", "MT-Bench")


def iter_jsonl(path: Path, required: tuple[str, ...]):
    """(line number, record) of a FastChat JSONL file; a line that is not JSON or lacks a required field is an error
    naming the file and line."""
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}: line {n}: not JSON ({err})") from None
            if not isinstance(row, dict):
                raise ValueError(f"{path}: line {n}: expected a JSON object")
            missing = [k for k in required if k not in row]
            if missing:
                raise ValueError(f"{path}: line {n}: missing field(s) {', '.join(missing)}")
            yield n, row


def read_jsonl(path: Path, required: tuple[str, ...]) -> list[dict]:
    """The records of a FastChat JSONL file (errors as iter_jsonl's)."""
    return [row for _, row in iter_jsonl(path, required)]


def load_data(folder: Path) -> tuple[list[dict], dict, dict, dict]:
    """Questions, judge prompts by name, reference answers by question id, data versions."""
    files = {name: require_file(folder / name, f"MT-Bench {what}") for name, what in (
        ("question.jsonl", "questions"), ("judge_prompts.jsonl", "judge prompts"),
        ("reference_answer_gpt-4.jsonl", "reference answers"))}
    questions = read_jsonl(files["question.jsonl"], ("question_id", "category", "turns"))
    for q in questions:
        if not isinstance(q["turns"], list) or len(q["turns"]) != 2:
            raise ValueError(f"{files['question.jsonl']}: question {q['question_id']}: field turns must hold 2 turns")
    prompts = {p["name"]: p for p in read_jsonl(files["judge_prompts.jsonl"], ("name", "system_prompt", "prompt_template", "output_format"))}
    for name in ("single-v1", "single-math-v1", "single-v1-multi-turn", "single-math-v1-multi-turn"):
        if name not in prompts:
            raise ValueError(f"{files['judge_prompts.jsonl']}: judge prompt {name!r} is missing")
    refs = {r["question_id"]: r for r in read_jsonl(files["reference_answer_gpt-4.jsonl"], ("question_id", "choices"))}
    versions = {name: file_version(path) for name, path in files.items()}
    return questions, prompts, refs, versions


def generate_answers(ctx: EvalContext, questions: list[dict], max_new_tokens: int, batch_size: int, seed: int) -> dict:
    """question_id -> [turn-1 answer, turn-2 answer]; turn 2 sees the model's own turn-1 answer."""
    model, tokenizer = ctx.model_and_tokenizer()
    answers: dict = {q["question_id"]: [] for q in questions}
    by_temperature = defaultdict(list)
    for q in questions:
        by_temperature[TEMPERATURES.get(q["category"], DEFAULT_TEMPERATURE)].append(q)
    with ctx.progress("MT-Bench answers", 2 * len(questions), "turns") as task:
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
                                      progress=task.advance)
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


def _judge_all(ctx: EvalContext, questions: list[dict], answers: dict, prompts: dict, refs: dict):
    """[(question, turn, prompt name, messages)], [Rating], the judge and why it was chosen."""
    judge, reason = judge_for(ctx, BENCHMARK)
    jobs = []
    for q in questions:
        for turn in (1, 2):
            name, messages = judge_prompt(q, answers[q["question_id"]], prompts, refs, turn)
            jobs.append((q, turn, name, messages))
    with ctx.progress(f"MT-Bench judging ({judge.id})", len(jobs), "judgments") as task:
        ratings = judge.rate([RatingRequest(messages=m) for *_, m in jobs], progress=task.advance)
    return jobs, ratings, judge, reason


def _export(out: Path, model_id: str, questions, answers, jobs, ratings, judge) -> dict[str, str]:
    """FastChat's model_answer and model_judgment files (exports: FastChat's show_result reads them)."""
    answer_file = out / "model_answer" / f"{model_id}.jsonl"
    now = time.time()
    write_jsonl(answer_file, [{"question_id": q["question_id"], "answer_id": uuid.uuid4().hex[:22], "model_id": model_id,
                               "choices": [{"index": 0, "turns": answers[q["question_id"]]}], "tstamp": now} for q in questions])
    judge_name = judge.settings.get("model", judge.id)
    judgment_file = out / "model_judgment" / f"{judge.id.replace('/', '_').replace(':', '_')}_single.jsonl"
    write_jsonl(judgment_file, [{"question_id": q["question_id"], "model": model_id, "judge": [judge_name, name],
                                 "user_prompt": messages[1]["content"], "judgment": r.raw if r.raw is not None else "$ERROR$",
                                 "score": r.rating if r.rating is not None else -1, "turn": turn, "tstamp": now,
                                 **({"error": r.error} if r.error else {})}
                                for (q, turn, name, messages), r in zip(jobs, ratings)])
    return {"answers": str(answer_file), "judgments": str(judgment_file)}


def _metric(name: str, selected: list, details: dict) -> MetricResult:
    """The mean rating over the (question, turn) items in ``selected``; failed judgments counted, not averaged."""
    items = {f"{q['question_id']}/t{turn}": r.rating for (q, turn, _, _), r in selected if r.rating is not None}
    failures = [{"question_id": job[0]["question_id"], "turn": job[1], "error": r.error} for job, r in selected if r.rating is None]
    return MetricResult(BENCHMARK, name, sum(items.values()) / len(items) if items else None, n_items=len(items),
                        n_failures=len(failures), missing_reason=None if items else f"no judgment had a rating ({len(failures)} failed)",
                        details={**details, "failures": failures[:20]}, item_scores=items or None,
                        score_kind=CONTINUOUS if items else None)


def run(ctx: EvalContext) -> BenchmarkResult:
    started = time.time()
    questions, prompts, refs, versions = load_data(data_dir(ctx))
    if ctx.limit:
        questions = questions[: ctx.limit]
    out = Path(ctx.out_dir) / BENCHMARK
    _, tokenizer = ctx.model_and_tokenizer()
    generation = {"max_new_tokens": int(ctx.option(BENCHMARK, "max_new_tokens", 1024)),
                  "batch_size": int(ctx.option(BENCHMARK, "batch_size", 8)), "temperatures": dict(TEMPERATURES),
                  "default_temperature": DEFAULT_TEMPERATURE, "temperature_source": TEMPERATURE_SOURCE,
                  "sampling": "greedy at 0, else multinomial (top_p 1)"}
    answers = generate_answers(ctx, questions, generation["max_new_tokens"], generation["batch_size"], ctx.seed)
    gen_s = time.time() - started
    jobs, ratings, judge, reason = _judge_all(ctx, questions, answers, prompts, refs)
    exports = _export(out, ctx.model_id, questions, answers, jobs, ratings, judge)
    details = {"benchmark": "MT-Bench (FastChat llm_judge, single-answer grading)", "dataset": "MT-Bench",
               "data_version": versions, "judge": {**judge.describe(), "selected": reason, "stats": judge.stats.as_dict()},
               "generation": generation, "chat_template": chat_template_id(tokenizer), "seed": ctx.seed,
               "model_id": ctx.model_id, "n_questions": len(questions),
               "rating_parser": f"[[x]] then [x], from {PATTERN_SOURCE}",
               "timings_s": {"generate": round(gen_s, 1), "judge": round(time.time() - started - gen_s, 1)}}
    pairs = list(zip(jobs, ratings))
    metrics = [_metric("turn1", [p for p in pairs if p[0][1] == 1], details),
               _metric("turn2", [p for p in pairs if p[0][1] == 2], details), _metric("average", pairs, details)]
    for category in sorted({q["category"] for q in questions}):
        metrics.append(_metric(f"category/{category}", [p for p in pairs if p[0][0]["category"] == category], details))
    samples = [Sample(BENCHMARK, f"{q['question_id']}/t{turn}", q["turns"][turn - 1], answers[q["question_id"]][turn - 1],
                      r.rating, r.raw or r.error, {"judge": judge.id, "category": q["category"]})
               for (q, turn, _, _), r in pairs]
    return BenchmarkResult(BENCHMARK, metrics, samples, exports)


register(Benchmark(BENCHMARK, "MT-Bench: 80 two-turn questions, single-answer grading by a judge (FastChat llm_judge)", run,
                   ("max_new_tokens", "batch_size"), data="mt_bench"))
