"""`bench run`: train a student with one or more methods (every stage they need, cached), then evaluate it.

    bench run --method adpa_plus --model smollm2-8l                  # embedded profile (the default)
    bench run --method adpa_plus --model danube3-500m --profile paper --dry-run
    bench run --method sft,dpo,dckd,adpa,adpa_plus --set stages.dckd.learning_rate=1e-5 --set data.train_limit=64

Stages live in a content-addressed cache (--cache-dir, default $BENCH_CACHE_DIR/stages) shared by every run;
the run directory (--run-dir) gets run.log, plan.json and results.json. Everything is checked (recipe, models,
data, tokenizers) before the first stage runs.
"""
from __future__ import annotations

import argparse

from .types import existing_folder, output_folder, plain_name, whole_number


def register(sub) -> None:
    p = sub.add_parser("run", help="train a student with a method (all stages it needs, cached) and evaluate it",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--method", required=True, help="method name, a comma-separated list, or 'all': the paper's five plus the "
                   "recipe's extra_methods (see `bench list methods`)")
    p.add_argument("--model", help="student: alias, hub id or local folder (default: the recipe's student)")
    p.add_argument("--teacher", help="teacher base model (default: the recipe's teacher for this student)")
    p.add_argument("--profile", default=None, help="recipe: embedded, paper, test, or a recipe .yaml file (default: the recipe that "
                   "lists --model among its students, e.g. paper for danube3-500m; else embedded)")
    p.add_argument("--data-dir", type=existing_folder, help="local data directory for offline data sets (default: $BENCH_DATA_DIR)")
    p.add_argument("--seed", type=whole_number(0), help="overrides the recipe's seed")
    p.add_argument("--run-dir", type=output_folder, help="where run.log, plan.json and results.json go (default: runs/<profile>-<student>-s<seed>)")
    p.add_argument("--cache-dir", type=output_folder, help="stage cache (default: $BENCH_CACHE_DIR/stages)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a recipe field, e.g. --set stages.dckd.learning_rate=1e-5 --set eval.limit=20 (repeatable)")
    p.add_argument("--dry-run", action="store_true", help="print the plan (stages, models, data, settings, cache state) and exit")
    p.add_argument("--no-eval", action="store_true", help="train only; skip the evaluation stages")
    p.add_argument("--teacher-rows", action="store_true", help="also evaluate the reference and DPO teachers (the table's teacher rows)")
    p.add_argument("--only-stage", metavar="STAGE", help="run this one stage of the plan (its inputs must be cached) and stop: "
                   "how a teacher's training stage runs under `accelerate launch` with several processes (README: Running the "
                   "paper profile)")
    p.add_argument("--study", type=plain_name, default="main", help="label stored with the results: 'main' for the table, e.g. 'figure5' for sweeps")
    p.set_defaults(func=main)


def main(args) -> int:
    from bench.commands.run import run  # deferred: the pipeline imports torch and transformers (seconds)

    return run(args)
