"""`bench judge-check`, reference 4: a far weaker model must rank below every published model.

The held-back check of issue 20 asks the default judge to rank its weakest model (far below the others) last. The
25 published models span GPT-4 scores 4.50-8.99, with no model far below the rest, so the GPT-4 reference cannot
ask that. This reference adds one: SmolLM2-135M-Instruct, the embedded profile's teacher, answering the same MT-Bench
questions greedily with FastChat's 1024 new tokens (its answers drift from the question, invent facts and repeat
themselves until the limit). The data has no GPT-4 score for it; the reference rests on one assumption, that a
135M-parameter model answers MT-Bench worse than all 25 published models (6B parameters to GPT-4).

The judge rates these answers with the MT-Bench check's own prompts and protocol, on the check's own questions; the
mean is placed among the published models' means of that check (same judge, same questions: refused otherwise).
Reported: the mean with a bootstrap interval over questions, its rank among the 26, the gap to the lowest published
mean, and where answer length alone (no judge) would put it.
"""
from __future__ import annotations

from pathlib import Path

from methods.generate import generate_text

from . import mt_bench as mt
from .placement import check_questions, place
from .verifier import answer_model, append_cached_answers, read_cached_answers

MODEL = "smollm2-135m"
LABEL = "SmolLM2-135M-Instruct (greedy)"
GENERATION = {"max_new_tokens": 1024, "temperature": 0.0, "batch_size": 8}  # FastChat's max_new_tokens for MT-Bench
ASSUMPTION = ("a 135M-parameter model answers MT-Bench worse than every published model (no GPT-4 score for it in the "
              "data): the judge should rank it last")


def _answers_file(cache_root: Path, data_version: dict) -> Path:
    digest = data_version["question.jsonl"].rsplit(":", 1)[-1]
    return cache_root / "answers" / f"{MODEL}_mt-bench-{digest}_turn1_greedy{GENERATION['max_new_tokens']}.jsonl"


def model_answers(questions: list[dict], cache_root: Path, data_version: dict) -> dict:
    """question_id -> [turn-1 answer] of the floor model: generated once per question, cached (JSONL, appended)."""
    path = _answers_file(cache_root, data_version)
    known = read_cached_answers(path, key="question_id")  # a torn last line: that question is generated again
    missing = [q for q in questions if q["question_id"] not in known]
    if missing:
        model, tokenizer = answer_model()
        print(f"judge-check: generating {MODEL}'s greedy answers to {len(missing)} MT-Bench questions (cached)", flush=True)
        texts = generate_text(model, tokenizer, [[{"role": "user", "content": q["turns"][0]}] for q in missing],
                              max_new_tokens=GENERATION["max_new_tokens"], batch_size=GENERATION["batch_size"],
                              temperature=0.0)
        append_cached_answers(path, [{"question_id": q["question_id"], "answer": t} for q, t in zip(missing, texts)])
        known.update({q["question_id"]: t for q, t in zip(missing, texts)})
    return {q["question_id"]: [known[q["question_id"]]] for q in questions}


def build_jobs(folder: Path, mt_block: dict, cache_root: Path) -> list[dict]:
    """The MT-Bench check's jobs for the floor model alone, on the questions ``mt_block`` (that check) graded."""
    chosen, versions = check_questions(folder, mt_block)
    answers = model_answers(chosen, cache_root, versions)
    jobs, _ = mt.build_jobs(folder, len(chosen), [MODEL], given={MODEL: answers}, questions=chosen)
    return jobs


def placement(jobs: list[dict], ratings: list, mt_block: dict, published_lengths: dict[str, float]) -> dict:
    """Where the floor model's mean rating falls among the published models' means of the same check; and where its
    mean answer length falls among ``published_lengths`` (mt_bench.mean_answer_chars on the same questions)."""
    return {"model": LABEL, "assumption": ASSUMPTION, **place(MODEL, jobs, ratings, mt_block, published_lengths),
            "answer_generation": {"model": MODEL, **GENERATION}}
