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
import subprocess
import sys
import time
from pathlib import Path

from .args import existing_folder, output_folder, plain_name, whole_number

# Figure 5 sweeps the headline hyperparameters its recipe lists grids for (figure5.alpha, figure5.gamma): each is
# declared by its method in methods.registry, with the loss settings it stands for.
SWEPT = ("alpha", "gamma")


def sweeps() -> dict[str, tuple[str, tuple[str, ...]]]:
    """symbol -> (method, recipe fields it sets), from the methods' ``headline`` declarations."""
    from methods.registry import METHODS  # deferred: keeps bench --help fast

    out = {}
    for name, method in METHODS.items():
        for symbol, fields in method.headline.items():
            out.setdefault(symbol, (name, tuple(f"stages.{name}.loss.{f}" for f in fields)))
    return {s: out[s] for s in SWEPT if s in out}


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
    p.set_defaults(func=run)


def _bench(args: list[str]) -> None:
    """One `bench` invocation in its own process: a crash or a leak in one run cannot take the grid down."""
    command = [sys.executable, "-m", "bench.cli", *args]
    print("$ bench " + " ".join(args), file=sys.stderr, flush=True)
    completed = subprocess.run(command)
    if completed.returncode != 0:
        raise SystemExit(f"bench reproduce: `bench {' '.join(args)}` failed with exit code {completed.returncode}")


def _grid(recipe, name: str) -> list[float]:
    return list(getattr(recipe.figure5, name, []))


def _sweep_eval(recipe) -> list[str]:
    """Fig. 5 plots reward score and accuracy only: a recipe may narrow the sweeps' evaluation to the benchmarks
    that give them (figure5.eval_benchmarks), and the sweeps never score training-curve checkpoints."""
    wanted = recipe.figure5.eval_benchmarks
    sets = ["--set", "eval.curves=null"] if recipe.eval.curves else []
    if wanted:
        sets += ["--set", f"eval.benchmarks=[{','.join(wanted)}]"]
    return sets


def run(args) -> int:
    from bench.recipe import load_recipe  # deferred: keeps bench --help fast

    recipe = load_recipe(args.profile, args.set)
    students = args.students.split(",") if args.students else (list(recipe.students) or [recipe.student])
    seeds = [recipe.seed + i for i in range(args.seeds)]
    common = ["--profile", args.profile] + [x for s in args.set for x in ("--set", s)]
    if args.data_dir:
        common += ["--data-dir", str(args.data_dir)]
    runs_root = Path(args.runs_dir) / Path(args.profile).stem
    results: list[str] = []
    start = time.monotonic()
    for student in students:
        slug = student.replace("/", "_")
        for seed in seeds:
            run_dir = runs_root / f"{slug}-s{seed}"
            _bench(["run", "--method", "all", "--teacher-rows", "--model", student, "--seed", str(seed), "--run-dir", str(run_dir), *common])
            results.append(str(run_dir / "results.json"))
            if args.no_figure5:
                continue
            for hyper, (method, fields) in sweeps().items():
                for value in _grid(recipe, hyper):
                    sweep_dir = runs_root / f"{slug}-s{seed}-fig5-{hyper}{value:g}"
                    sets = [x for f in fields for x in ("--set", f"{f}={value}")] + _sweep_eval(recipe)
                    _bench(["run", "--method", method, "--study", "figure5", "--model", student, "--seed", str(seed),
                            "--run-dir", str(sweep_dir), *sets, *common])
                    results.append(str(sweep_dir / "results.json"))
    _bench(["report", *results, "--out", str(args.out), "--name", args.name])
    print(f"bench reproduce: {len(results)} runs rendered into {args.out}/{args.name}.* in {time.monotonic() - start:.0f}s",
          file=sys.stderr)
    return 0
