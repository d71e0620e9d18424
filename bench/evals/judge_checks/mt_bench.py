"""`bench judge-check`, reference 1: GPT-4's MT-Bench scores (published means, or GPT-4's judgment of each answer).

LMSYS published the answers of 31 models to MT-Bench (``<data>/mt_bench/model_answer/<model>.jsonl``, FastChat
format; the file name is the model) and GPT-4's MT-Bench score for 25 of them (``gpt4_published_scores.csv``:
the mean over both turns of all 80 questions). The judge grades turn 1 of the same subset of questions for every
model, with the MT-Bench evaluation's own prompts (bench.evals.mt_bench.judge_prompt: single-v1, or
single-math-v1 with GPT-4's reference answer), each answer whole (a cut would break off the longest, mostly the
best, answers: the judges' 8k-token context holds any MT-Bench answer; ``answer_tokens`` cuts only when asked). A
pairwise judge instead compares each answer with gpt-3.5-turbo's published answer to the same question (FastChat
pair-v2; pair-math-v1 with GPT-4's reference answer), in both orders: the rating is 1 + 9 * P(answer is better).
Each model's mean judge rating is then compared with GPT-4's score by Spearman and Kendall correlation, with
bootstrap intervals over questions, and the model GPT-4 rates lowest is placed among the judge's means (issue 20's
held-back check asks the judge to rank it last).

Other models than LMSYS's 25 (a held-back set): their answers in ``--answers DIR`` and GPT-4's judgment of each in
``--gpt4-judgments FILE`` (FastChat's gpt-4_single.jsonl, bench.evals.judge_checks.gpt4_judgments); the reference is
then GPT-4's mean over the very answers the judge grades.
"""
from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import numpy as np

from bench.evals.mt_bench import NEED_REF_CATS, judge_prompt, load_data, read_jsonl
from bench.judges.agreement_stats import bootstrap_share, cluster_bootstrap, correlation, correlation_pvalue
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


def answers_folder(folder: Path, answers_dir: Path | None = None) -> Path:
    """Where the models' answer files are: ``answers_dir``, by default the data's ``model_answer`` (FastChat's layout)."""
    return Path(answers_dir or folder / "model_answer")


def answer_file(folder: Path, model: str, answers_dir: Path | None = None) -> Path:
    return answers_folder(folder, answers_dir) / f"{model}.jsonl"


def published_answers(folder: Path, model: str, answers_dir: Path | None = None) -> dict:
    """question_id -> list of turns, from ``answer_file``."""
    path = answer_file(folder, model, answers_dir)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: no answers for model {model!r}")
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
               tokenizer=None, given: dict | None = None, questions: list[dict] | None = None,
               answers_dir: Path | None = None) -> tuple[list[dict], dict]:
    """One job per (question, model), question-major, so a pairwise judge's consecutive comparisons share their
    baseline answer (bench.judges.local sends them as a block; single-answer prompts it sorts itself).
    Each job also carries what a pairwise judge needs: the question, the answer, the baseline's answer and the
    reference answer (math, reasoning, coding). ``given``: model -> {question_id: turns} for a model without
    published answers (the floor reference's); ``questions``: these questions instead of the first ``n_questions``;
    ``answers_dir``: the models' answer files (default: the data's; the baseline's always come from the data)."""
    all_questions, prompts, refs, versions = load_data(folder)
    chosen = questions if questions is not None else select_questions(all_questions, n_questions)
    given = given or {}
    answers = {m: given[m] if m in given else published_answers(folder, m, answers_dir) for m in models}
    baseline = published_answers(folder, BASELINE_MODEL)
    jobs = []
    for q in chosen:
        for model in models:
            turns = answers[model].get(q["question_id"])
            if not turns:
                raise ValueError(f"{answer_file(folder, model, answers_dir)}: no answer to question {q['question_id']}")
            answer = cut(turns[0], tokenizer, answer_tokens)
            name, messages = judge_prompt(q, [answer, ""], prompts, refs, turn=1)
            ref = refs.get(q["question_id"]) if q["category"] in NEED_REF_CATS else None
            jobs.append({"question_id": q["question_id"], "category": q["category"], "model": model,
                         "prompt_name": name, "messages": messages, "question": q["turns"][0], "answer": answer,
                         "baseline": cut(baseline[q["question_id"]][0], tokenizer, answer_tokens),
                         "reference": ref["choices"][0]["turns"][0] if ref else None})
    meta = {"question_ids": [q["question_id"] for q in chosen], "data_version": versions}
    return jobs, meta


def reference_grid(gpt4: dict, models: list[str], question_ids: list) -> np.ndarray | None:
    """GPT-4's per-answer scores as a models x questions grid (NaN: no score), or None for published means."""
    if not any(isinstance(gpt4[m], dict) for m in models):
        return None
    return np.array([[gpt4[m].get(q, np.nan) for q in question_ids] for m in models], dtype=float)


def missing_reference(gpt4: dict, models: list[str], question_ids: list) -> list[str]:
    """The models without a GPT-4 score on any of ``question_ids`` (their reference mean would be undefined)."""
    grid = reference_grid(gpt4, models, question_ids)
    return [] if grid is None else [m for m, row in zip(models, grid) if np.isnan(row).all()]


def agreement(jobs: list[dict], ratings: list, gpt4: dict, models: list[str], question_ids: list) -> dict:
    """Model means and their Spearman / Kendall correlation with GPT-4's scores, with question-bootstrap intervals.

    ``gpt4``: model -> its published score (a fixed reference), or model -> {question_id: GPT-4's score of that
    answer} (gpt4_judgments: the reference is the mean over the same questions, and each resample recomputes it).
    Also where the judge ranks the model GPT-4 rates lowest, and in what share of resamples it ranks it last."""
    grid = np.full((len(models), len(question_ids)), np.nan)
    row, col = {m: i for i, m in enumerate(models)}, {q: j for j, q in enumerate(question_ids)}
    for job, r in zip(jobs, ratings):
        if r.rating is not None:
            grid[row[job["model"]], col[job["question_id"]]] = r.rating
    ref_grid = reference_grid(gpt4, models, question_ids)

    def means(values, idx) -> np.ndarray | None:
        sub = values[:, idx]
        if np.isnan(sub).all(axis=1).any():
            return None
        return np.nanmean(sub, axis=1)

    def reference(idx) -> list[float] | None:
        if ref_grid is None:
            return [gpt4[m] for m in models]
        m = means(ref_grid, idx)
        return None if m is None else list(m)

    def stat(kind):
        def f(idx):
            m, ref = means(grid, idx), reference(idx)
            return None if m is None or ref is None else correlation(kind, list(m), ref)
        return f

    everything = np.arange(len(question_ids))
    full, ref_full = means(grid, everything), reference(everything)
    out = {"n_models": len(models), "n_questions": len(question_ids), "n_judgments": len(jobs),
           "n_failed": int(np.isnan(grid).sum()),
           "model_means": {m: (None if full is None or np.isnan(full[i]) else round(float(full[i]), 4))
                           for i, m in enumerate(models)},
           "gpt4_scores": dict(zip(models, ref_full))}
    if ref_grid is not None:
        out["gpt4_unrated_answers"] = int(np.isnan(ref_grid).sum())  # FastChat's -1: GPT-4 gave no rating
    for kind in ("spearman", "kendall"):
        value = None if full is None else correlation(kind, list(full), ref_full)
        out[kind] = {"value": value, "ci95": cluster_bootstrap(len(question_ids), stat(kind)),
                     "pvalue": None if full is None else correlation_pvalue(kind, list(full), ref_full)}
    if full is not None:
        out["gpt4_lowest"] = lowest_placement(grid, full, ref_full, models, means)
    return out


def rank_from_top(value: float, others) -> int:
    """1 + how many of ``others`` are strictly above ``value``: a tie does not push it down (tied with the last is
    not last)."""
    return 1 + int(sum(v > value for v in others))


def lowest_placement(grid: np.ndarray, full: np.ndarray, ref_full: list[float], models: list[str], means) -> dict:
    """Where the judge ranks the model GPT-4 rates lowest (issue 20's held-back demand: last), and in what share of
    question resamples it ranks it last."""
    i = int(np.argmin(ref_full))

    def last(values) -> bool:
        return rank_from_top(values[i], np.delete(values, i)) == len(models)

    rank = rank_from_top(full[i], np.delete(full, i))
    share, defined = bootstrap_share(grid.shape[1], lambda idx: None if (m := means(grid, idx)) is None else last(m))
    return {"model": models[i], "gpt4": float(ref_full[i]), "judge_mean": float(full[i]), "rank": rank,
            "of": len(models), "ranked_last": rank == len(models), "ranked_last_share": share, "n_resamples": defined}


def mean_answer_chars(folder: Path, models: list[str], question_ids: list, answers_dir: Path | None = None) -> dict[str, float]:
    """Each model's mean turn-1 answer length in characters over ``question_ids`` (what length alone ranks by)."""
    out = {}
    for m in models:
        answers = published_answers(folder, m, answers_dir)
        out[m] = float(np.mean([len(answers[q][0]) for q in question_ids]))
    return out


def length_baseline(jobs: list[dict], gpt4: dict[str, float], models: list[str], question_ids: list) -> dict:
    """What a judge must beat: each answer's length in characters as its rating (GPT-4 itself favours longer
    answers), compared with GPT-4's scores exactly as a judge's ratings are."""
    lengths = [Rating(float(len(j["answer"])), None) for j in jobs]
    full = agreement(jobs, lengths, gpt4, models, question_ids)
    return {"measure": LENGTH_MEASURE, "spearman": full["spearman"], "kendall": full["kendall"]}
