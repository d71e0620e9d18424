"""`bench eval`: evaluate one model on the named benchmarks, print the table, save the evaluation (arguments:
bench/arguments/eval.py)."""
from __future__ import annotations

import sys

from rich.console import Console
from rich.table import Table

from bench.datasets import data_dir
from bench.evals import evaluate
from bench.evals.api import UnknownBenchmark, benchmark_names, failed
from bench.models import ModelUnavailable, availability
from bench.results.evaluation import Evaluation, save_evaluation


def _options(args) -> dict:
    options = {"judge_api_key_env": args.judge_key_env, "max_new_tokens": args.max_new_tokens,
               "reference_model": args.reference_model, "model_id": args.model_id,
               "judge_timeout": args.judge_timeout, "judge_retries": args.judge_retries}
    return {k: v for k, v in options.items() if v is not None}


def print_table(results) -> None:
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
    for flag, spec in (("--model", args.model), ("--reference-model", args.reference_model)):
        reason = availability(spec) if spec else None
        if reason:
            raise ModelUnavailable(f"{flag}: {reason}")


def run(args) -> int:
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
