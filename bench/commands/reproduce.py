"""`bench reproduce`: every run of a profile's Table 2 and Fig. 5, each a `bench run` in its own process, then one
`bench report` (arguments and what it runs: bench/arguments/reproduce.py)."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from bench.commands.run import method_names
from bench.recipe import load_recipe
from bench.results import TEACHER_ROWS
from methods.registry import METHODS

# Figure 5 sweeps the headline hyperparameters its recipe lists grids for (figure5.alpha, figure5.gamma): each is
# declared by its method in methods.registry, with the loss settings it stands for.
SWEPT = ("alpha", "gamma")


def sweeps() -> dict[str, tuple[str, tuple[str, ...]]]:
    """symbol -> (method, recipe fields it sets), from the methods' ``headline`` declarations."""
    out = {}
    for name, method in METHODS.items():
        for symbol, fields in method.headline.items():
            out.setdefault(symbol, (name, tuple(f"stages.{name}.loss.{f}" for f in fields)))
    return {s: out[s] for s in SWEPT if s in out}


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
    # The table shows this invocation's rows only: a run folder keeps the entries of earlier `bench run`s of other
    # methods (results.json merges), which may be stale or scored by another judge.
    rows = [*method_names("all", recipe.extra_methods), *TEACHER_ROWS]
    _bench(["report", *results, "--out", str(args.out), "--name", args.name, "--methods", ",".join(rows)])
    print(f"bench reproduce: {len(results)} runs rendered into {args.out}/{args.name}.* in {time.monotonic() - start:.0f}s",
          file=sys.stderr)
    return 0
