"""A hand-made results document for the report tests (schema adpa-bench/results/v1)."""
from __future__ import annotations

import copy
import json
from pathlib import Path

TEACHER, STUDENT = "smollm2-135m", "smollm2-8l"
# A judge whose agreement with GPT-4 was measured and holds (bench.judges.validation): its columns are marked as
# usual. tests/test_judges_validation.py covers a judge that is not validated.
MT_JUDGE = {"id": "qwen2.5-1.5b-instruct-q4", "settings": {"temperature": 0},
            "agreement": {"text": "vs GPT-4 on MT-Bench: Spearman 0.80 [0.55, 0.92]",
                          "mt_bench_gpt4": {"n_models": 25, "n_questions": 24, "spearman": 0.8, "spearman_ci95": [0.55, 0.92]},
                          "hh": {"pairwise_accuracy": 0.66, "pairwise_accuracy_ci95": [0.61, 0.7], "n_pairs": 400}}}
REWARD_JUDGE = {"id": "tiny-reward-rm"}
SCRIPT = "<script>window.__pwned = 1; alert('x')</script>"
IMG = "<img src=x onerror=\"window.__pwned_img = 1\">"
ADPA_SEEDS = {1: 6.0, 2: 6.5, 3: 7.25}  # mt_bench average per seed: mean 6.5833, sample std 0.6292


def metric(benchmark, name, value, *, reason=None, judge=None, data=None, n_items=10):
    details = {"data_version": data} if data else {}
    if judge:
        details["judge"] = judge
    return {"benchmark": benchmark, "metric": name, "value": value, "n_items": n_items, "n_failures": 0,
            "stderr": None, "missing_reason": reason, "details": details}


def row_metrics(mt_avg, *, win_rate=0.5, reward=0.1, acc=0.6, gold=0.3, win_reason=None):
    return [
        metric("mt_bench", "turn1", mt_avg + 0.5, judge=MT_JUDGE, data="mt_bench_v1"),
        metric("mt_bench", "turn2", mt_avg - 0.5, judge=MT_JUDGE, data="mt_bench_v1"),
        metric("mt_bench", "average", mt_avg, judge=MT_JUDGE, data="mt_bench_v1"),
        metric("alpaca_eval", "win_rate", None if win_reason else win_rate, reason=win_reason, judge=MT_JUDGE,
               data="alpaca_eval_805"),
        metric("reward", "score", reward, judge=REWARD_JUDGE, data="hh_rlhf_test"),
        metric("reward", "accuracy", acc, judge=REWARD_JUDGE, data="hh_rlhf_test"),
        metric("gold", "prompt_strict", gold, judge={"id": "builtin-verifier"}, data="checkable_v1"),
        {**metric("open_llm", "arc_challenge", acc - 0.3, data="arc@sha256:1234"),
         "details": {"harness": "lm-evaluation-harness", "metric": "acc_norm", "data_version": "arc@sha256:1234"}},
        # not Table-2 columns: the "other metrics" table and the CSV
        metric("gold", "prompt_loose", gold + 0.1, judge="gold (exact verifier)", data="checkable_v1"),
        metric("reward", "rm_heldout_accuracy", 0.8, judge=REWARD_JUDGE),
    ]


def entry(method, seed, metrics, *, student=STUDENT, study=None, hp=None, curves=None, samples=None):
    out = {"student": student, "method": method, "seed": seed, "model": f"runs/{student}/{method}/{seed}",
           "wall_time_s": {"train": 12.5, "eval": 3.0}, "metrics": metrics}
    if student != TEACHER:
        out["teacher"] = TEACHER
    if study:
        out["study"] = study
    if hp:
        out["hyperparameters"] = hp
    if curves:
        out["curves"] = curves
    if samples:
        out["samples"] = samples
    return out


def sample(prompt_id, output, rating, rationale):
    return {"benchmark": "gold", "prompt_id": prompt_id, "prompt": f"Write exactly 3 words. <b>{prompt_id}</b>",
            "output": output, "rating": rating, "rationale": rationale}


def results_document() -> dict:
    entries = [
        # teacher rows beat every student: they must not take the bold
        entry("ref_teacher", 42, row_metrics(9.0, win_rate=0.9, reward=0.9, acc=0.9, gold=0.9), student=TEACHER),
        entry("dpo_teacher", 42, row_metrics(9.5, win_rate=0.95, reward=0.95, acc=0.95, gold=0.95), student=TEACHER),
        entry("sft", 42, row_metrics(4.0, win_reason="judge server unavailable"),
              samples=[sample("t1", SCRIPT, 0.0, IMG)]),
        entry("dpo", 42, row_metrics(5.0, win_rate=0.55, reward=0.2, acc=0.62),
              curves=[{"name": "reward_score", "step": s, "value": 0.05 * s} for s in (0, 10, 20)],
              samples=[sample("t1", "one two three", 1.0, "exactly three words")]),
        entry("dckd", 42, row_metrics(5.5, win_rate=0.58, reward=0.25, acc=0.64), hp={"alpha": 0.5}),
        entry("adpa_plus", 42, row_metrics(6.0, win_rate=0.6, reward=0.3, acc=0.7)),
    ]
    for seed, avg in ADPA_SEEDS.items():
        entries.append(entry("adpa", seed, row_metrics(avg, win_rate=0.6, reward=0.3 + 0.01 * seed, acc=0.66),
                             hp={"gamma": 1.6},
                             curves=[{"name": "reward_score", "step": s, "value": 0.1 * s + 0.01 * seed}
                                     for s in (0, 10, 20)]))
    # the figure-5 sweep: not table rows
    for alpha, score in ((0.1, 0.1), (0.5, 0.25), (0.9, 0.2)):
        entries.append(entry("dckd", 7, [metric("reward", "score", score, judge=REWARD_JUDGE),
                                         metric("reward", "accuracy", 0.5 + score, judge=REWARD_JUDGE)],
                             study="figure5", hp={"alpha": alpha}))
    for gamma, score in ((0.4, 0.15), (1.6, 0.3), (3.2, 0.22)):
        entries.append(entry("adpa", 7, [metric("reward", "score", score, judge=REWARD_JUDGE),
                                         metric("reward", "accuracy", 0.5 + score, judge=REWARD_JUDGE)],
                             study="figure5", hp={"gamma": gamma}))
    return {"schema": "adpa-bench/results/v1", "profile": "test", "created": "2026-11-28T04:00:00Z",
            "meta": {"versions": {"adpa-bench": "0.1.0", "torch": "2.13.0"}, "machine": "2-core CPU",
                     "judges": {"mt_bench": MT_JUDGE["id"]}, "notes": ["hand-made for tests"]},
            "entries": entries}


def write(path: Path, document: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1))
    return path


def copy_doc() -> dict:
    return copy.deepcopy(results_document())
