"""Where one model's mean rating falls among the models of a judge's MT-Bench check: same judge, same questions,
same prompts. Shared by the floor reference (SmolLM2-135M's answers) and `--place` (models with answers but no GPT-4
score in the data).

The mean comes with a bootstrap interval over the check's questions; its rank counts the check's models strictly
above it (a tie is not last); beside it, where the model's mean answer length would rank it (no judge).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.evals.mt_bench import load_data
from bench.judges.agreement_stats import cluster_bootstrap

from .mt_bench import LENGTH_MEASURE, rank_from_top


def check_questions(folder: Path, mt_block: dict) -> tuple[list[dict], dict]:
    """The questions ``mt_block`` (a judge's MT-Bench check) graded, in its order, and the data's versions."""
    all_questions, _, _, versions = load_data(folder)
    questions = {q["question_id"]: q for q in all_questions}
    wanted = mt_block.get("question_ids")
    if not wanted or any(q not in questions for q in wanted):
        raise ValueError(f"the MT-Bench check's question_ids {wanted!r} are not all in {folder}/question.jsonl")
    return [questions[q] for q in wanted], versions


def place(model: str, jobs: list[dict], ratings: list, mt_block: dict, published_lengths: dict[str, float]) -> dict:
    """``model``'s jobs and ratings (others are ignored) placed among ``mt_block``'s model means, on its
    ``question_ids``; ``published_lengths``: those models' mean answer lengths (mt_bench.mean_answer_chars)."""
    question_ids = list(mt_block["question_ids"])
    mine = [(j, r) for j, r in zip(jobs, ratings) if j["model"] == model]
    by_question = {j["question_id"]: (r.rating if r.rating is not None else np.nan) for j, r in mine}
    values = np.array([by_question.get(q, np.nan) for q in question_ids], dtype=float)
    if np.isnan(values).all():
        raise ValueError(f"the judge rated none of {model}'s answers")
    mean = float(np.nanmean(values))
    means = {m: v for m, v in mt_block["model_means"].items() if v is not None}
    lowest = min(means, key=means.get)

    def resampled_mean(idx):
        sub = values[idx]
        return None if np.isnan(sub).all() else float(np.nanmean(sub))

    rank = rank_from_top(mean, means.values())
    lengths = {j["question_id"]: len(j["answer"]) for j, _ in mine}
    length = float(np.mean([lengths[q] for q in question_ids]))
    return {"n_questions": len(question_ids), "n_failed": int(np.isnan(values).sum()), "mean": mean,
            "ci95": cluster_bootstrap(len(question_ids), resampled_mean),
            "rank": rank, "of": len(means) + 1, "ranked_last": rank == len(means) + 1,
            "lowest_published": {"model": lowest, "mean": means[lowest], "gpt4_score": mt_block["gpt4_scores"][lowest]},
            "gap_below_lowest": means[lowest] - mean,
            "published_means_range": [min(means.values()), max(means.values())],
            "mean_answer_chars": length,
            "length_baseline": {"measure": LENGTH_MEASURE, "rank": rank_from_top(length, published_lengths.values()),
                                "of": len(published_lengths) + 1},
            "question_ids": question_ids, "ratings": [None if np.isnan(v) else float(v) for v in values]}
