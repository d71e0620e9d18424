"""`bench eval`: run registered benchmarks on one model and write its evaluation.

    bench eval --model M --benchmarks mt_bench,alpaca_eval,open_llm,reward,gold --data-dir DIR
               [--limit N] [--judge ID] [--profile embedded|paper] [--reference-model M] [--out DIR] [--json FILE]

The library call is bench.evals.evaluate; this command parses arguments, prints the table and saves the
evaluation (bench.results.evaluation). It exits 1 when a benchmark failed or lost every judgment.
"""
from __future__ import annotations

import argparse

import sys
from pathlib import Path

from .args import existing_folder, output_file, output_folder, whole_number


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
    p.set_defaults(func=run)


def _judge_id(text: str) -> str:
    """Checked while parsing: an unknown judge is refused before any answer is generated."""
    from bench.judges import UnknownJudge, check_judge_id  # deferred: keeps bench --help fast

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


def _options(args) -> dict:
    options = {"judge_api_key_env": args.judge_key_env, "max_new_tokens": args.max_new_tokens,
               "reference_model": args.reference_model, "model_id": args.model_id,
               "judge_timeout": args.judge_timeout, "judge_retries": args.judge_retries}
    return {k: v for k, v in options.items() if v is not None}


def print_table(results) -> None:
    from rich.console import Console  # deferred: keeps bench --help fast
    from rich.table import Table

    table = Table(title="bench eval")
    for column, justify in (("benchmark", "left"), ("metric", "left"), ("value", "right"), ("95% interval", "right"),
                            ("n", "right"), ("failed", "right"), ("judge", "left"), ("note", "left")):
        table.add_column(column, justify=justify, overflow="fold")
    for result in results:
        for r in result.metrics:
            judge = r.details.get("judge")
            judge = judge.get("id", "") if isinstance(judge, dict) else str(judge or "")
            ci = f"[{r.interval.low:.3f}, {r.interval.high:.3f}]" if r.interval else ""
            table.add_row(r.benchmark, r.metric, "-" if r.value is None else f"{r.value:.3f}", ci, str(r.n_items),
                          str(r.n_failures), judge, r.missing_reason or "")
    console = Console()
    console.print(table)
    console.print("seconds: " + ", ".join(f"{r.benchmark} {r.seconds:.1f}" for r in results))


def _check_models(args) -> None:
    """Before any benchmark runs: a missing folder, an unknown alias or an unreachable hub id is one line (exit 3),
    not one failed row per benchmark; a folder whose files do not parse raises BadModelFolder (exit 2)."""
    from bench.models import ModelUnavailable, availability  # deferred: keeps bench --help fast

    for flag, spec in (("--model", args.model), ("--reference-model", args.reference_model)):
        reason = availability(spec) if spec else None
        if reason:
            raise ModelUnavailable(f"{flag}: {reason}")


def run(args) -> int:
    from bench.datasets import data_dir  # deferred: keeps bench --help fast
    from bench.evals import evaluate
    from bench.evals.api import UnknownBenchmark, benchmark_names, failed
    from bench.results.evaluation import Evaluation, save_evaluation

    try:
        benchmark_names(args.benchmarks)
    except UnknownBenchmark as err:
        print(f"bench eval: {err}", file=sys.stderr)
        return 2
    _check_models(args)
    args.data_dir = data_dir(args.data_dir)  # --data-dir, else $BENCH_DATA_DIR
    results = evaluate(args.model, args.benchmarks, data_dir=args.data_dir, out_dir=args.out, limit=args.limit,
                       seed=args.seed, judge=args.judge, profile=args.profile, options=_options(args))
    print_table(results)
    target = args.json or (args.out / "evaluation.json")
    meta = {"benchmarks": args.benchmarks, "limit": args.limit, "judge": args.judge, "profile": args.profile,
            "seed": args.seed, "data_dir": str(args.data_dir) if args.data_dir else None}
    save_evaluation(Evaluation(args.model, results, meta), target)
    print(f"evaluation written to {target}")
    bad = failed(results)
    if bad:
        print(f"bench eval: failed: {', '.join(bad)} (see the table's notes)", file=sys.stderr)
        return 1
    return 0
