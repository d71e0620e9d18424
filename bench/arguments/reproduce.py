"""`bench reproduce`: the paper's main table (Table 2) and its hyperparameter study (Fig. 5) for one profile.

For every student of the profile and every seed it runs all five methods (plus the recipe's ``extra_methods``:
DistiLLM-2, GKD, SimPO, off by default; `--set extra_methods=[distillm2,gkd,simpo]` turns them on) and the teacher rows through
`bench run` (so every stage is cached and shared), then the figure-5 sweeps (DCKD's alpha, ADPA's gamma; each
grid point is one more training stage on top of the cached ones), and renders everything with `bench report`.

    bench reproduce                          # embedded profile, one seed
    bench reproduce --profile paper --seeds 3
"""
from __future__ import annotations

import argparse

from .types import existing_folder, output_folder, plain_name, whole_number


def register(sub) -> None:
    p = sub.add_parser("reproduce", help="run the Table-2 grid and the Fig.-5 sweeps for a profile, then render reports",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profile", default="embedded", help="recipe: embedded (default), paper, test, or a recipe .yaml")
    p.add_argument("--seeds", type=whole_number(1), default=1, help="number of seeds (recipe seed, seed+1, ...); 3 gives mean ± std")
    p.add_argument("--students", help="comma-separated students (default: the recipe's students, else its student)")
    p.add_argument("--runs-dir", type=output_folder, default="runs", help="where each run's directory goes (default: runs/)")
    p.add_argument("--out", type=output_folder, default="reports", help="report directory (default: reports/)")
    p.add_argument("--name", type=plain_name, default="table2", help="report file stem (default: table2)")
    p.add_argument("--data-dir", type=existing_folder, help="local data directory (default: $BENCH_DATA_DIR)")
    p.add_argument("--no-figure5", action="store_true", help="skip the hyperparameter sweeps")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="recipe override passed to every run")
    p.set_defaults(func=main)


def main(args) -> int:
    from bench.commands.reproduce import run  # deferred: the recipe and methods.registry import torch (seconds)

    return run(args)
