"""`bench run`: plan a student's stages, run them from the stage cache, write results.json (arguments:
bench/arguments/run.py, which also says what the command does)."""
from __future__ import annotations

import logging
import os
import platform
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import torch
import transformers
from rich.console import Console
from rich.table import Table

from bench.datasets import data_dir as resolve_data_dir
from bench.errors import UsageError
from bench.io import write_json
from bench.models import cache_dir
from bench.pipeline.cache import StageCache
from bench.pipeline.dry_run import estimate_tokens, example_counts, print_plan, recipe_counts
from bench.pipeline.entries import run_entries
from bench.pipeline.plan import build_plan
from bench.pipeline.prepare import check_availability, prepare
from bench.pipeline.runner import execute
from bench.progress import Reporter, quiet_libraries
from bench.recipe import load_recipe, profile_for
from bench.results import update_results_file
from methods.registry import METHODS, PAPER_METHODS

log = logging.getLogger("bench.run")


def method_names(spec: str, extra: list[str] = ()) -> list[str]:
    """``all``: the paper's Table-2 methods plus ``extra`` (the recipe's extra_methods)."""
    names = [*PAPER_METHODS, *extra] if spec == "all" else [m.strip() for m in spec.split(",") if m.strip()]
    unknown = [n for n in names if n not in METHODS]
    if unknown or not names:
        raise UsageError(f"--method: unknown method(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(METHODS)} or all")
    return names


def _slug(spec: str) -> str:
    return Path(spec).name if Path(spec).expanduser().is_dir() else spec.replace("/", "_")


def _setup_logging(run_dir: Path) -> logging.Handler:
    """The run log gets our detail and every library's warnings (the terminal gets our progress only)."""
    handler = logging.FileHandler(run_dir / "run.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name in ("bench", ""):
        logging.getLogger(name).addHandler(handler)
    logging.getLogger("bench").setLevel(logging.INFO)
    logging.getLogger("bench").propagate = False
    logging.captureWarnings(True)
    return handler


def _restore_logging(handler: logging.Handler) -> None:
    """Undo _setup_logging: a run called in-process (tests, notebooks) leaves logging as it found it."""
    for name in ("bench", ""):
        logging.getLogger(name).removeHandler(handler)
    handler.close()
    logging.getLogger("bench").propagate = True
    logging.captureWarnings(False)


def _meta(ctx, notes: list[str], rows: list[dict]) -> dict:
    try:
        ours = version("adpa-bench")
    except PackageNotFoundError:  # a checkout that is not pip-installed
        ours = "0+local"
    return {"versions": {"adpa-bench": ours, "torch": torch.__version__, "transformers": transformers.__version__},
            "machine": f"{platform.machine()} {platform.system()} {os.cpu_count()} cpus, torch threads {torch.get_num_threads()}",
            "data": {**ctx.data.descriptor, "versions": ctx.data.versions}, "notes": notes,
            "stages": {r["stage"]: {"status": r["status"], "wall_time_s": r["wall_time_s"], "cpu_time_s": r.get("cpu_time_s")}
                       for r in rows}}


def _plan(args):
    recipe = load_recipe(args.profile or profile_for(args.model), args.set)
    seed = recipe.seed if args.seed is None else args.seed
    student = args.model or recipe.student
    teacher = recipe.teacher_for(student, args.teacher)
    methods = method_names(args.method, recipe.extra_methods)
    plan = build_plan(recipe, methods, student, teacher, evaluate=not args.no_eval, teacher_rows=args.teacher_rows, seed=seed)
    return recipe, seed, student, teacher, methods, plan


def run(args) -> int:
    console = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 200)
    recipe, seed, student, teacher, methods, plan = _plan(args)
    data_dir = resolve_data_dir(args.data_dir)
    quiet_libraries()
    cache = StageCache(Path(args.cache_dir).expanduser() if args.cache_dir else cache_dir() / "stages")
    missing = check_availability(plan, recipe, data_dir)
    if missing and not args.dry_run:
        console.print(f"[red]error:[/red] cannot run (offline={os.environ.get('HF_HUB_OFFLINE', '0')}): nothing was done. Missing:")
        for item, reason in missing.items():
            console.print(f"  - {item}: {reason}")
        console.print("Supply local copies: models as folders (--model DIR, --teacher DIR); data sets through the data "
                      "directory (--data-dir DIR or BENCH_DATA_DIR), with the file names listed above.")
        return 3
    if args.dry_run:
        ctx = None if missing else prepare(plan, recipe, student, teacher, seed, data_dir, Reporter(console))
        return _dry_run(console, ctx, plan, recipe, student, teacher, methods, data_dir, missing, cache)
    run_dir = Path(args.run_dir or Path("runs") / f"{recipe.profile}-{_slug(student)}-s{seed}").expanduser()
    run_dir.mkdir(parents=True, exist_ok=True)
    handler = _setup_logging(run_dir)  # before prepare: records skipped or dropped while loading reach run.log
    try:
        ctx = prepare(plan, recipe, student, teacher, seed, data_dir, Reporter(console))
        ctx.cache = cache
        return _execute(ctx, run_dir, methods, args.study, args.only_stage)
    except Exception:
        log.exception("bench run failed")
        raise
    finally:
        _restore_logging(handler)


def _dry_run(console, ctx, plan, recipe, student, teacher, methods, data_dir, missing, cache) -> int:
    counts = example_counts(lambda kind: ctx.examples("student", kind)) if ctx else recipe_counts(recipe)
    print_plan(console, plan, recipe, student, teacher, methods, data_dir, missing, cache,
               estimate_tokens(plan, recipe, counts), ctx is not None)
    return 0


def _execute(ctx, run_dir: Path, methods: list[str], study: str, only_stage: str | None = None) -> int:
    console = ctx.reporter.console
    log.info("bench run %s: methods=%s student=%s teacher=%s seed=%s cache=%s", " ".join(sys.argv[1:]), methods,
             ctx.student, ctx.teacher, ctx.seed, ctx.cache.root)
    write_json(run_dir / "plan.json", {"recipe": ctx.recipe.to_dict(), "methods": methods, "student": ctx.student,
                                       "teacher": ctx.teacher, "stages": {n: {"kind": s.kind, "deps": s.deps, "config": s.config,
                                                                             "key": s.key, "base_model": s.base_model}
                                                                          for n, s in ctx.plan.items()}})
    start = time.monotonic()
    rows = execute(ctx, only=only_stage)
    if only_stage:  # one stage, no evaluation: nothing to add to results.json
        _print_summary(console, rows, [], time.monotonic() - start)
        return 0
    entries = run_entries(ctx.plan, rows, ctx.recipe, methods, ctx.student, ctx.teacher, ctx.seed, run_dir, study)
    notes = sorted({n for e in entries for n in e.extra.get("notes", [])})
    path = run_dir / "results.json"
    _, replaced = update_results_file(path, ctx.recipe.profile, _meta(ctx, notes, rows), entries)
    for old in replaced:  # a warning: run.log and the terminal (bench.errors.TerminalWarnings)
        log.warning(f"results.json: replaced the earlier entry for {old.describe()}, study {old.study!r}")
    _print_summary(console, rows, entries, time.monotonic() - start)
    console.print(f"results: {path}   log: {run_dir / 'run.log'}")
    log.info("finished; results at %s", path)
    failed = sorted({r["stage"] for r in rows for _ in r["summary"].get("failed", [])})
    if failed:
        console.print(f"[red]error:[/red] benchmarks failed in {', '.join(failed)} (see {run_dir / 'run.log'})")
        return 1
    return 0


def _print_summary(console, rows: list[dict], entries, seconds: float) -> None:
    table = Table(title=f"bench run: {seconds:.1f}s", box=None, header_style="bold")
    for col in ("stage", "status", "wall s", "cpu s"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["stage"], r["status"], f"{r['wall_time_s'] or 0:.1f}", f"{r.get('cpu_time_s') or 0:.1f}")
    console.print(table)
    for entry in entries:
        shown = ", ".join(f"{m.benchmark}/{m.metric}={m.value:.4g}" + (f" [{m.interval.low:.3g}, {m.interval.high:.3g}]" if m.interval else "")
                          for m in entry.metrics if m.value is not None)
        console.print(f"{entry.method:<11} {shown}")
