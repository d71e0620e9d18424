"""`bench judge-check`, reference 2: the built-in data set's exact verifier.

Answers to the built-in held-out prompts come from three sources: the data's own chosen answer (synthetic,
satisfies every constraint), its rejected answer (synthetic, breaks at least one) and SmolLM2-135M-Instruct's
greedy answer (a real model answer, generated once and cached under ``$BENCH_CACHE_DIR/judge_checks/answers``).
The verifier scores each answer (strict fraction of constraints satisfied). The judge rates each answer with the
MT-Bench single-answer prompt (single-v1: the prompt as the question), exactly as the MT-Bench evaluation uses
it. Agreement: pairwise accuracy over answer pairs to one prompt whose verifier scores differ, and the AUROC of
single grades, pass (every constraint) against fail.

A pairwise judge (``local-<model>:pairwise``) compares the two answers of each such pair directly instead, in
FastChat's pair-v2 prompt (the built-in prompt as the question), both orders: the pair counts 1 when P(the
verifier's better answer is better), averaged over the orders, is above 1/2. It rates no answer alone, so it has no
AUROC; its position consistency is reported instead.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np

from methods.generate import generate_text

from bench.datasets import builtin
from bench.evals.mt_bench import judge_prompt, load_data
from bench.judges.agreement_stats import (auroc, cluster_bootstrap, pair_outcomes, position_consistency,
                                          preference_outcomes, wilson_interval)
from bench.judges.base import PairRequest, Rating
from bench.models import load_model, load_tokenizer

from .mt_bench import LENGTH_MEASURE

ANSWER_MODEL = "smollm2-135m"
GENERATION = {"max_new_tokens": 256, "temperature": 0.0, "batch_size": 8}


def _answers_file(cache_root: Path) -> Path:
    version = builtin.build(builtin.DEFAULT_SEED, n_train=0).data_version
    return cache_root / "answers" / f"{ANSWER_MODEL}_builtin-{version}_greedy{GENERATION['max_new_tokens']}.jsonl"


def read_cached_answers(path: Path, key: str = "id") -> dict:
    """row[key] -> row["answer"] of a cached answers file (JSONL, appended; the verifier's and the floor's)."""
    if not path.is_file():
        return {}
    answers = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
            answers[row[key]] = row["answer"]
        except (ValueError, KeyError, TypeError):
            continue  # a line cut short by a killed run: that prompt is generated again
    return answers


def append_cached_answers(path: Path, rows: list[dict]) -> None:
    """Append whole lines. A line torn by a killed run is skipped on reading; it is closed first, so the rows written
    after it are not glued to it (and lost)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torn = path.is_file() and path.stat().st_size > 0 and not path.read_bytes().endswith(b"\n")
    with open(path, "a", encoding="utf-8") as f:
        f.write(("\n" if torn else "") + "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))


@functools.lru_cache(maxsize=1)
def answer_model():
    return load_model(ANSWER_MODEL, device="cpu"), load_tokenizer(ANSWER_MODEL)


def model_answers(items, cache_root: Path) -> list[str]:
    """SmolLM2-135M-Instruct's greedy answers to ``items``: generated once per prompt, cached (JSONL, appended)."""
    path = _answers_file(cache_root)
    known = read_cached_answers(path)
    missing = [it for it in items if it.id not in known]
    if missing:
        model, tokenizer = answer_model()
        print(f"judge-check: generating {ANSWER_MODEL}'s greedy answers to {len(missing)} held-out prompts (cached)",
              flush=True)
        texts = generate_text(model, tokenizer, [it.messages for it in missing], max_new_tokens=GENERATION["max_new_tokens"],
                              batch_size=GENERATION["batch_size"], temperature=0.0)
        append_cached_answers(path, [{"id": it.id, "answer": t} for it, t in zip(missing, texts)])
        known.update({it.id: t for it, t in zip(missing, texts)})
    return [known[it.id] for it in items]


def answered_prompts(items, n_pairs: int, cache_root: Path, chunk: int = 8) -> tuple[list, list[list[dict]]]:
    """The leading held-out prompts that give at least ``n_pairs`` pairs, with their scored answers; model answers
    are generated a chunk of prompts at a time, only as far as needed."""
    per_prompt: list[list[dict]] = []
    for start in range(0, len(items), chunk):
        batch = items[start:start + chunk]
        per_prompt += scored_answers(batch, model_answers(batch, cache_root))
        k = choose_prompts(per_prompt, n_pairs)
        if k < len(per_prompt) or sum(len(prompt_pairs(a)) for a in per_prompt) >= n_pairs:
            return list(items[:k]), per_prompt[:k]
    return list(items), per_prompt


def scored_answers(items, generated: list[str] | None) -> list[list[dict]]:
    """Per prompt: its answers with source and verifier score (strict fraction) and pass flag."""
    out = []
    for i, item in enumerate(items):
        candidates = [("data chosen (synthetic)", item.reference), ("data rejected (synthetic)", item.rejected)]
        if generated is not None:
            candidates.append((f"{ANSWER_MODEL} greedy", generated[i]))
        answers = []
        for source, text in candidates:
            verdict = builtin.verify(item, text)
            answers.append({"source": source, "text": text, "score": verdict.strict, "passed": verdict.all_strict})
        out.append(answers)
    return out


def prompt_pairs(answers: list[dict]) -> list[tuple[int, int]]:
    """(better, worse) answer indices whose verifier scores differ."""
    return [(a, b) if answers[a]["score"] > answers[b]["score"] else (b, a)
            for a in range(len(answers)) for b in range(a + 1, len(answers))
            if answers[a]["score"] != answers[b]["score"]]


def choose_prompts(per_prompt: list[list[dict]], n_pairs: int) -> int:
    """How many leading prompts give at least ``n_pairs`` pairs (all of them if fewer)."""
    total = 0
    for k, answers in enumerate(per_prompt, 1):
        total += len(prompt_pairs(answers))
        if total >= n_pairs:
            return k
    return len(per_prompt)


def build_jobs(items, per_prompt: list[list[dict]], mt_bench_folder: Path) -> list[dict]:
    _, prompts, refs, _ = load_data(mt_bench_folder)
    jobs = []
    for p, (item, answers) in enumerate(zip(items, per_prompt)):
        question = {"question_id": item.id, "category": "writing", "turns": [item.prompt, ""]}  # a no-reference category
        for a, answer in enumerate(answers):
            _, messages = judge_prompt(question, [answer["text"], ""], prompts, refs, turn=1)
            jobs.append({"prompt": p, "answer": a, "messages": messages})
    return jobs


def answer_counts(per_prompt: list[list[dict]]) -> dict:
    """How many prompts and answers were rated, and per source how many answers passed the verifier."""
    sources: dict = {}
    for answers in per_prompt:
        for a in answers:
            entry = sources.setdefault(a["source"], {"answers": 0, "passed": 0})
            entry["answers"] += 1
            entry["passed"] += int(a["passed"])
    return {"n_prompts": len(per_prompt), "n_answers": sum(len(a) for a in per_prompt), "answer_sources": sources}


def agreement(per_prompt: list[list[dict]], jobs: list[dict], ratings: list) -> dict:
    """Pairwise accuracy (Wilson and prompt-bootstrap intervals) and AUROC (prompt bootstrap)."""
    grid = [[None] * len(answers) for answers in per_prompt]
    for job, r in zip(jobs, ratings):
        grid[job["prompt"]][job["answer"]] = r.rating

    def pairs_of(prompts) -> list[tuple[float, float]]:
        return [(grid[p][a], grid[p][b]) for p in prompts for a, b in prompt_pairs(per_prompt[p])
                if grid[p][a] is not None and grid[p][b] is not None]

    def split(prompts) -> tuple[list[float], list[float]]:
        rated = [(per_prompt[p][a]["passed"], grid[p][a]) for p in prompts for a in range(len(grid[p])) if grid[p][a] is not None]
        return [r for ok, r in rated if ok], [r for ok, r in rated if not ok]

    everything = range(len(per_prompt))
    outcomes = pair_outcomes(pairs_of(everything))
    passed, failed = split(everything)

    def accuracy(idx):
        o = pair_outcomes(pairs_of(idx))
        return float(np.mean(o)) if o else None

    n_pairs_all = sum(len(prompt_pairs(a)) for a in per_prompt)
    return {**answer_counts(per_prompt), "n_failed": sum(r.rating is None for r in ratings),
            "pairwise_accuracy": {"value": float(np.mean(outcomes)) if outcomes else None, "n_pairs": len(outcomes),
                                  "n_pairs_unrated": n_pairs_all - len(outcomes),
                                  "ties": sum(o == 0.5 for o in outcomes), "ci95": wilson_interval(outcomes),
                                  "ci95_bootstrap_prompts": cluster_bootstrap(len(per_prompt), accuracy)},
            "auroc": {"value": auroc(passed, failed), "n_pass": len(passed), "n_fail": len(failed),
                      "ci95": cluster_bootstrap(len(per_prompt), lambda idx: auroc(*split(idx)))}}


def pair_requests(items, per_prompt: list[list[dict]]) -> tuple[list[PairRequest], list[tuple[int, int, int]]]:
    """One comparison per answer pair whose verifier scores differ, the better answer as output_1 (a pairwise judge
    asks both orders), and the (prompt, better, worse) indices of each."""
    keys = [(p, a, b) for p, answers in enumerate(per_prompt) for a, b in prompt_pairs(answers)]
    return [PairRequest(items[p].prompt, per_prompt[p][a]["text"], per_prompt[p][b]["text"]) for p, a, b in keys], keys


def pair_agreement(per_prompt: list[list[dict]], keys: list[tuple[int, int, int]], preferences: list) -> dict:
    """``preferences``: the judge's Preference per pair of ``keys`` (output_1 = the verifier's better answer).
    Pairwise accuracy (Wilson and prompt-bootstrap intervals, as for rated answers) and position consistency."""
    by_prompt: dict[int, list[float]] = {}
    for (p, _, _), outcome in zip(keys, preference_outcomes([pref.preference for pref in preferences])):
        if outcome is not None:
            by_prompt.setdefault(p, []).append(outcome)

    def accuracy(idx):  # a prompt drawn twice counts its pairs twice, as agreement() does
        o = [x for p in idx for x in by_prompt.get(int(p), [])]
        return float(np.mean(o)) if o else None

    done = [x for p in range(len(per_prompt)) for x in by_prompt.get(p, [])]
    return {**answer_counts(per_prompt), "n_failed": sum(p.preference is None for p in preferences),
            "pairwise_accuracy": {"value": float(np.mean(done)) if done else None, "n_pairs": len(done),
                                  "n_pairs_unrated": len(keys) - len(done),
                                  "ties": sum(o == 0.5 for o in done), "ci95": wilson_interval(done),
                                  "ci95_bootstrap_prompts": cluster_bootstrap(len(per_prompt), accuracy)},
            "position_consistency": position_consistency([p.consistent for p in preferences])}


def length_baseline(per_prompt: list[list[dict]], jobs: list[dict]) -> dict:
    """What a judge must beat: each answer's length in characters as its rating, scored as a judge's ratings are."""
    lengths = [Rating(float(len(per_prompt[j["prompt"]][j["answer"]]["text"])), None) for j in jobs]
    full = agreement(per_prompt, jobs, lengths)
    return {"measure": LENGTH_MEASURE,
            "pairwise_accuracy": full["pairwise_accuracy"], "auroc": full["auroc"]}
