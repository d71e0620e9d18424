"""`bench judge-check`, reference 1: GPT-4's published MT-Bench scores.

LMSYS published the answers of 31 models to MT-Bench (``<data>/mt_bench/model_answer/<model>.jsonl``, FastChat
format; the file name is the model) and GPT-4's MT-Bench score for 25 of them (``gpt4_published_scores.csv``:
the mean over both turns of all 80 questions). The judge grades turn 1 of the same subset of questions for every
model, with the MT-Bench evaluation's own prompts (bench.evals.mt_bench.judge_prompt: single-v1, or
single-math-v1 with GPT-4's reference answer), each answer whole (a cut would break off the longest, mostly the
best, answers: the judges' 8k-token context holds any MT-Bench answer; ``answer_tokens`` cuts only when asked). A
pairwise judge instead compares each answer with gpt-3.5-turbo's published answer to the same question (FastChat
pair-v2; pair-math-v1 with GPT-4's reference answer), in both orders: the rating is 1 + 9 * P(answer is better).
Each model's mean judge rating is then compared with GPT-4's score by Spearman and Kendall correlation, with
bootstrap intervals over questions.
"""
from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import numpy as np

from bench.evals.mt_bench import NEED_REF_CATS, judge_prompt, load_data, read_jsonl
from bench.judges.agreement_stats import cluster_bootstrap, correlation, correlation_pvalue
from bench.judges.base import Rating

SCORES_FILE = "gpt4_published_scores.csv"
LENGTH_MEASURE = "answer length in characters as the rating, no judge"
BASELINE_MODEL = "gpt-3.5-turbo"  # the pairwise protocol's fixed reference answer (LMSYS's published answers)


def published_scores(folder: Path) -> dict[str, float]:
    path = folder / SCORES_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found (set --data-dir / BENCH_DATA_DIR to the shared data folder)")
    scores = {}
    with open(path, encoding="utf-8", newline="") as f:
        for line, row in enumerate(csv.DictReader(f), 2):
            try:
                scores[row["model"].strip()] = float(row["mt_bench_gpt4_score"])
            except (KeyError, TypeError, ValueError, AttributeError):
                raise ValueError(f"{path}: line {line}: fields model and mt_bench_gpt4_score "
                                 "(a number) are required") from None
    return scores


def published_answers(folder: Path, model: str) -> dict:
    """question_id -> list of turns, from ``model_answer/<model>.jsonl``."""
    path = folder / "model_answer" / f"{model}.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: no published answers for model {model!r}")
    answers = {}
    for row in read_jsonl(path, ("question_id", "choices")):
        try:
            answers[row["question_id"]] = list(row["choices"][0]["turns"])
        except (KeyError, IndexError, TypeError) as err:
            raise ValueError(f"{path}: question {row['question_id']}: expected choices[0].turns ({type(err).__name__}: {err})") from None
    return answers


def select_questions(questions: list[dict], n: int) -> list[dict]:
    """``n`` questions spread over the categories: the first of each category, then the second of each, ..."""
    by_category = defaultdict(list)
    for q in questions:
        by_category[q["category"]].append(q)
    chosen = []
    for rank in range(max(len(v) for v in by_category.values())):
        for category in by_category:  # categories in file order
            if rank < len(by_category[category]) and len(chosen) < n:
                chosen.append(by_category[category][rank])
    return chosen


def cut(text: str, tokenizer, max_tokens: int | None) -> str:
    if not max_tokens:
        return text
    ids = tokenizer(text, add_special_tokens=False).input_ids
    return text if len(ids) <= max_tokens else tokenizer.decode(ids[:max_tokens], skip_special_tokens=True)


def build_jobs(folder: Path, n_questions: int, models: list[str], answer_tokens: int | None = None,
               tokenizer=None, given: dict | None = None, questions: list[dict] | None = None) -> tuple[list[dict], dict]:
    """One job per (question, model), question-major so consecutive prompts share their prefix in the judge.
    Each job also carries what a pairwise judge needs: the question, the answer, the baseline's answer and the
    reference answer (math, reasoning, coding). ``given``: model -> {question_id: turns} for a model without
    published answers (the floor reference's); ``questions``: these questions instead of the first ``n_questions``."""
    all_questions, prompts, refs, versions = load_data(folder)
    chosen = questions if questions is not None else select_questions(all_questions, n_questions)
    given = given or {}
    answers = {m: given[m] if m in given else published_answers(folder, m) for m in models}
    baseline = published_answers(folder, BASELINE_MODEL)
    jobs = []
    for q in chosen:
        for model in models:
            turns = answers[model].get(q["question_id"])
            if not turns:
                raise ValueError(f"{folder}/model_answer/{model}.jsonl: no answer to question {q['question_id']}")
            answer = cut(turns[0], tokenizer, answer_tokens)
            name, messages = judge_prompt(q, [answer, ""], prompts, refs, turn=1)
            ref = refs.get(q["question_id"]) if q["category"] in NEED_REF_CATS else None
            jobs.append({"question_id": q["question_id"], "category": q["category"], "model": model,
                         "prompt_name": name, "messages": messages, "question": q["turns"][0], "answer": answer,
                         "baseline": cut(baseline[q["question_id"]][0], tokenizer, answer_tokens),
                         "reference": ref["choices"][0]["turns"][0] if ref else None})
    meta = {"question_ids": [q["question_id"] for q in chosen], "data_version": versions}
    return jobs, meta


def agreement(jobs: list[dict], ratings: list, gpt4: dict[str, float], models: list[str], question_ids: list) -> dict:
    """Model means and their Spearman / Kendall correlation with GPT-4's scores, with question-bootstrap intervals."""
    grid = np.full((len(models), len(question_ids)), np.nan)
    row, col = {m: i for i, m in enumerate(models)}, {q: j for j, q in enumerate(question_ids)}
    for job, r in zip(jobs, ratings):
        if r.rating is not None:
            grid[row[job["model"]], col[job["question_id"]]] = r.rating
    reference = [gpt4[m] for m in models]

    def means(idx) -> np.ndarray | None:
        sub = grid[:, idx]
        if np.isnan(sub).all(axis=1).any():
            return None
        return np.nanmean(sub, axis=1)

    def stat(kind):
        def f(idx):
            m = means(idx)
            return None if m is None else correlation(kind, list(m), reference)
        return f

    full = means(np.arange(len(question_ids)))
    out = {"n_models": len(models), "n_questions": len(question_ids), "n_judgments": len(jobs),
           "n_failed": int(np.isnan(grid).sum()),
           "model_means": {m: (None if full is None or np.isnan(full[i]) else round(float(full[i]), 4))
                           for i, m in enumerate(models)},
           "gpt4_scores": dict(zip(models, reference))}
    for kind in ("spearman", "kendall"):
        value = None if full is None else correlation(kind, list(full), reference)
        out[kind] = {"value": value, "ci95": cluster_bootstrap(len(question_ids), stat(kind)),
                     "pvalue": None if full is None else correlation_pvalue(kind, list(full), reference)}
    return out


def mean_answer_chars(folder: Path, models: list[str], question_ids: list) -> dict[str, float]:
    """Each model's mean turn-1 answer length in characters over ``question_ids`` (what length alone ranks by)."""
    out = {}
    for m in models:
        answers = published_answers(folder, m)
        out[m] = float(np.mean([len(answers[q][0]) for q in question_ids]))
    return out


def length_baseline(jobs: list[dict], gpt4: dict[str, float], models: list[str], question_ids: list) -> dict:
    """What a judge must beat: each answer's length in characters as its rating (GPT-4 itself favours longer
    answers), compared with GPT-4's scores exactly as a judge's ratings are."""
    lengths = [Rating(float(len(j["answer"])), None) for j in jobs]
    full = agreement(jobs, lengths, gpt4, models, question_ids)
    return {"measure": LENGTH_MEASURE, "spearman": full["spearman"], "kendall": full["kendall"]}
