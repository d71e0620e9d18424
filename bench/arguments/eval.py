"""`bench eval`: run registered benchmarks on one model and write its evaluation.

    bench eval --model M --benchmarks mt_bench,alpaca_eval,open_llm,reward,gold --data-dir DIR
               [--limit N] [--judge ID] [--profile embedded|paper] [--reference-model M] [--out DIR] [--json FILE]

The library call is bench.evals.evaluate; this command parses arguments, prints the table and saves the
evaluation (bench.results.evaluation). It exits 1 when a benchmark failed or lost every judgment.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from .types import existing_folder, output_file, output_folder, whole_number


def register(sub) -> None:
    p = sub.add_parser("eval", help="evaluate one model on benchmarks (MT-Bench, AlpacaEval, Open LLM, reward, gold, heldout)")
    p.add_argument("--model", required=True, help="model alias, hub id or local folder")
    p.add_argument("--benchmarks", default="mt_bench,alpaca_eval,open_llm,reward,gold",
                   help="comma-separated benchmark names (bench.evals.BENCHMARKS)")
    p.add_argument("--data-dir", type=existing_folder, default=None, help="offline data folder (default $BENCH_DATA_DIR)")
    p.add_argument("--limit", type=whole_number(1, "omit it for every item"), default=None,
                   help="first N items of each benchmark (quick runs; default: every item)")
    p.add_argument("--judge", default=None, type=_judge_id,
                   help="judge id for judged benchmarks: local-smollm2, local-qwen0.5b, local-qwen1.5b, openai:<model>@<base_url>, "
                        "gold, reward:<model> (default: the profile's judge per benchmark)")
    p.add_argument("--judge-timeout", type=_seconds, default=None, help="seconds a judge request may take before it is "
                   "retried (default 30)")
    p.add_argument("--judge-retries", type=whole_number(0), default=None, help="retries per judgment after a failed request "
                   "(exponential backoff; default 2)")
    p.add_argument("--judge-key-env", default=None, help="name of the environment variable holding the judge's API key (default OPENAI_API_KEY)")
    p.add_argument("--profile", default="embedded", help="profile whose default judges apply (embedded: local judge; paper: GPT-4)")
    p.add_argument("--seed", type=whole_number(0), default=42)
    p.add_argument("--max-new-tokens", type=whole_number(1), default=None, help="generation length for MT-Bench/AlpacaEval/gold answers")
    p.add_argument("--reference-model", default=None, help="reference model (alias, hub id or folder) for the reward "
                   "benchmark's implicit-reward accuracy, usually the model this one was trained from")
    p.add_argument("--model-id", default=None, help="the model's name in exported answers and judgments (default: the folder name)")
    p.add_argument("--out", type=output_folder, default=Path("eval-out"), help="folder for answers, judgments and annotations")
    p.add_argument("--json", type=output_file, default=None, help="write the evaluation here (default <out>/evaluation.json)")
    p.set_defaults(func=main)


def _judge_id(text: str) -> str:
    """Checked while parsing: an unknown judge is refused before any answer is generated."""
    # Deferred: bench.judges loads the model and data registries, 80 ms, more than all of `bench --help` without it.
    from bench.judges import UnknownJudge, check_judge_id

    try:
        return check_judge_id(text)
    except UnknownJudge as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, got {text!r}")
    return value


def main(args) -> int:
    from bench.commands.eval import run  # deferred: the evaluations import torch, SciPy and pandas (seconds)

    return run(args)
