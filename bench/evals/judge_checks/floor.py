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

import numpy as np

from methods.generate import generate_text

from bench.judges.agreement_stats import cluster_bootstrap

from . import mt_bench as mt
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
    all_questions, _, _, versions = mt.load_data(folder)
    questions = {q["question_id"]: q for q in all_questions}
    wanted = mt_block.get("question_ids")
    if not wanted or any(q not in questions for q in wanted):
        raise ValueError(f"the MT-Bench check's question_ids {wanted!r} are not all in {folder}/question.jsonl")
    chosen = [questions[q] for q in wanted]
    answers = model_answers(chosen, cache_root, versions)
    jobs, _ = mt.build_jobs(folder, len(chosen), [MODEL], given={MODEL: answers}, questions=chosen)
    return jobs


def placement(jobs: list[dict], ratings: list, mt_block: dict, published_lengths: dict[str, float]) -> dict:
    """Where the floor model's mean rating falls among the published models' means of the same check; and where its
    mean answer length falls among ``published_lengths`` (mt_bench.mean_answer_chars on the same questions)."""
    question_ids = list(mt_block["question_ids"])
    by_question = {j["question_id"]: (r.rating if r.rating is not None else np.nan) for j, r in zip(jobs, ratings)}
    values = np.array([by_question.get(q, np.nan) for q in question_ids], dtype=float)
    if np.isnan(values).all():
        raise ValueError("the judge rated none of the floor model's answers")
    mean = float(np.nanmean(values))
    means = {m: v for m, v in mt_block["model_means"].items() if v is not None}
    lowest = min(means, key=means.get)

    def resampled_mean(idx):
        sub = values[idx]
        return None if np.isnan(sub).all() else float(np.nanmean(sub))

    rank = mt.rank_from_top(mean, means.values())
    lengths = {j["question_id"]: len(j["answer"]) for j in jobs}
    length = float(np.mean([lengths[q] for q in question_ids]))
    return {"model": LABEL, "assumption": ASSUMPTION, "n_questions": len(question_ids),
            "n_failed": int(np.isnan(values).sum()), "mean": mean, "ci95": cluster_bootstrap(len(question_ids), resampled_mean),
            "rank": rank, "of": len(means) + 1, "ranked_last": rank == len(means) + 1,
            "lowest_published": {"model": lowest, "mean": means[lowest], "gpt4_score": mt_block["gpt4_scores"][lowest]},
            "gap_below_lowest": means[lowest] - mean,
            "published_means_range": [min(means.values()), max(means.values())],
            "mean_answer_chars": length,
            "length_baseline": {"measure": mt.LENGTH_MEASURE, "rank": mt.rank_from_top(length, published_lengths.values()),
                                "of": len(published_lengths) + 1},
            "question_ids": question_ids, "ratings": [None if np.isnan(v) else float(v) for v in values],
            "answer_generation": {"model": MODEL, **GENERATION}}
