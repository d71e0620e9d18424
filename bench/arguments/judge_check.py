"""`bench judge-check --judge J`: how far a judge agrees with GPT-4 on MT-Bench, human HH preferences and the
exact verifier.

    bench judge-check [--judge local-qwen0.5b:explain] [--questions 24] [--models a,b,...] [--hh-pairs 400]
                      [--verifier-pairs 120] [--references verifier,mt_bench,floor,hh] [--threads N] [--data-dir DIR]
                      [--answers DIR --gpt4-judgments FILE] [--place MODELS]

Without --judge: the embedded profile's default MT-Bench judge (bench.judges.DEFAULT_JUDGES, the one every table
of that profile uses). Other models than the 25 published ones (a held-back set): ``--answers`` is the folder of
their FastChat answer files, ``--gpt4-judgments`` GPT-4's judgments of them (FastChat's gpt-4_single.jsonl); pass
``--out`` too, so this machine's check of the judge on the published models is not replaced. Models with answers
but no GPT-4 score: ``--place`` judges them on the MT-Bench check's questions and ranks each among its models
(bench.evals.judge_checks.placed).

The judging protocol is part of the judge id (``local-<model>:<mode>``, bench.judges.protocols); answers are
judged whole (``--answer-tokens`` cuts only when given).

Writes ``$BENCH_CACHE_DIR/judge_checks/<judge>.json`` (bench.judges.agreement; ``load_agreement`` reads it) and
prints a table; beside each reference, the same answers rated by their length alone (no judge: what a judge must
beat; ``--length-only`` adds it to a check made before checks recorded it, without running the judge). Judgments
are cached like every judge's, so a rerun (or a larger --questions) only sends what is new. The defaults (24
questions x 25 models, 400 HH pairs) take hours of a local judge on 2 cores: screen with --models and --questions /
--hh-pairs first (the subsets are nested, so their judgments are reused).
"""
from __future__ import annotations

import os
from pathlib import Path

DEFAULT_QUESTIONS = 24  # 3 per category
DEFAULT_HH_PAIRS = 400
DEFAULT_VERIFIER_PAIRS = 120


def register(sub) -> None:
    p = sub.add_parser("judge-check", help="measure a judge's agreement with GPT-4 (MT-Bench), human HH preferences "
                                           "and the exact verifier")
    p.add_argument("--judge", default=None, help="judge id (local-smollm2, local-qwen0.5b, local-qwen1.5b[:noexample], "
                   "openai:...; default: the embedded profile's MT-Bench judge)")
    p.add_argument("--questions", type=int, default=DEFAULT_QUESTIONS,
                   help=f"MT-Bench questions graded for every model, spread over the 8 categories (default {DEFAULT_QUESTIONS})")
    p.add_argument("--models", default=None, help="comma-separated models with a GPT-4 reference (default: every one, "
                   "the 25 published scores or the models of --gpt4-judgments that have answers)")
    p.add_argument("--answers", type=Path, default=None,
                   help="folder of the models' FastChat answer files, <model>.jsonl (default: <data>/mt_bench/model_answer)")
    p.add_argument("--gpt4-judgments", type=Path, default=None,
                   help="GPT-4's judgment of every answer (FastChat's model_judgment/gpt-4_single.jsonl): the reference "
                        "becomes GPT-4's mean over the checked questions (default: the published scores, or this file "
                        "in <data>/mt_bench when the scores file is absent)")
    p.add_argument("--answer-tokens", type=int, default=None,
                   help="cut each published answer at this many SmolLM2-tokenizer tokens (default: never cut)")
    p.add_argument("--hh-pairs", type=int, default=DEFAULT_HH_PAIRS,
                   help=f"Anthropic HH harmless-base pairs judged (default {DEFAULT_HH_PAIRS}; chance 0.5)")
    p.add_argument("--verifier-pairs", type=int, default=DEFAULT_VERIFIER_PAIRS,
                   help=f"at least this many answer pairs with different verifier scores (default {DEFAULT_VERIFIER_PAIRS})")
    p.add_argument("--references", default="verifier,mt_bench,floor,hh",
                   help="which references to measure (verifier, mt_bench, floor, placed, hh); floor places SmolLM2-135M's "
                        "answers among the MT-Bench check's models (that check from the same run or an earlier one)")
    p.add_argument("--place", default=None,
                   help="comma-separated models with answers in --answers (default: the data's) but no GPT-4 score: each "
                        "judged on the MT-Bench check's questions and placed among its models (adds the placed reference)")
    p.add_argument("--threads", type=int, default=None, help="threads of a local judge's server (default: as in evaluations, every core up to 4; "
                   "on a busy machine 1 is much faster than 2: llama.cpp's threads wait for each other)")
    p.add_argument("--judge-timeout", type=float, default=None, help="seconds to wait for one judge request")
    p.add_argument("--judge-retries", type=int, default=None, help="retries of a failed judge request")
    p.add_argument("--judge-key-env", default=None, help="environment variable holding an API judge's key")
    p.add_argument("--data-dir", type=Path, default=os.environ.get("BENCH_DATA_DIR"), help="shared data folder")
    p.add_argument("--out", type=Path, default=None, help="folder for the result (default $BENCH_CACHE_DIR/judge_checks)")
    p.add_argument("--length-only", action="store_true",
                   help="run no judge: add the no-judge length baseline to the judge's existing check in --out (one "
                        "made before checks recorded it), recomputed from the data on the check's own questions and pairs")
    p.set_defaults(func=main)


def main(args) -> int:
    from bench.commands.judge_check import run  # deferred: the checks import transformers, SciPy and pandas (seconds)

    return run(args)
