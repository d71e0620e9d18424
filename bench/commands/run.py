"""`bench run`: train a student with one or more methods (every stage they need, cached), then evaluate it.

    bench run --method adpa_plus --model smollm2-8l                  # embedded profile (the default)
    bench run --method adpa_plus --model danube3-500m --profile paper --dry-run
    bench run --method sft,dpo,dckd,adpa,adpa_plus --set stages.dckd.learning_rate=1e-5 --set data.train_limit=64

Stages live in a content-addressed cache (--cache-dir, default $BENCH_CACHE_DIR/stages) shared by every run;
the run directory (--run-dir) gets run.log, plan.json and results.json.
"""
from __future__ import annotations

import json
import logging
import os
import platform
import sys
import time
from pathlib import Path

log = logging.getLogger("bench.run")


def register(sub) -> None:
    p = sub.add_parser("run", help="train a student with a method (all stages it needs, cached) and evaluate it",
                       description=__doc__, formatter_class=__import__("argparse").RawDescriptionHelpFormatter)
    p.add_argument("--method", required=True, help="method name, a comma-separated list, or 'all' (see `bench list methods`)")
    p.add_argument("--model", help="student: alias, hub id or local folder (default: the recipe's student)")
    p.add_argument("--teacher", help="teacher base model (default: the recipe's teacher for this student)")
    p.add_argument("--profile", default=None, help="recipe: embedded, paper, test, or a recipe .yaml file (default: the recipe that "
                   "lists --model among its students, e.g. paper for danube3-500m; else embedded)")
    p.add_argument("--data-dir", help="local data directory for offline data sets (default: $BENCH_DATA_DIR)")
    p.add_argument("--seed", type=int, help="overrides the recipe's seed")
    p.add_argument("--run-dir", help="where run.log, plan.json and results.json go (default: runs/<profile>-<student>-s<seed>)")
    p.add_argument("--cache-dir", help="stage cache (default: $BENCH_CACHE_DIR/stages)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a recipe field, e.g. --set stages.dckd.learning_rate=1e-5 --set eval.limit=20 (repeatable)")
    p.add_argument("--dry-run", action="store_true", help="print the plan (stages, models, data, settings, cache state) and exit")
    p.add_argument("--no-eval", action="store_true", help="train only; skip the evaluation stages")
    p.add_argument("--teacher-rows", action="store_true", help="also evaluate the reference and DPO teachers (the table's teacher rows)")
    p.add_argument("--study", default="main", help="label stored with the results: 'main' for the table, e.g. 'figure5' for sweeps")
    p.set_defaults(func=run)


def _methods(spec: str) -> list[str]:
    from methods.registry import METHODS, get_method

    names = list(METHODS) if spec == "all" else [m.strip() for m in spec.split(",") if m.strip()]
    for name in names:
        get_method(name)
    return names


def _slug(spec: str) -> str:
    return Path(spec).name if Path(spec).expanduser().is_dir() else spec.replace("/", "_")


def _closure(plan, name: str) -> list[str]:
    seen: list[str] = []

    def visit(n):
        for dep in plan[n].deps.values():
            visit(dep)
        if n not in seen:
            seen.append(n)
    visit(name)
    return seen


def _avg_lengths(examples: list[dict], response_keys: tuple[str, ...]) -> tuple[int, float, float]:
    n = len(examples)
    prompt = sum(len(e["prompt_ids"]) for e in examples) / n
    response = sum(len(e[k]) for e in examples for k in response_keys) / (n * len(response_keys))
    return n, prompt, response


def estimate_tokens(plan, recipe: dict, counts: dict) -> dict[str, int]:
    """Rough tokens processed per stage (forward passes; training counts each epoch)."""
    est = {}
    max_new = recipe["generation"]["max_new_tokens"]
    for name, s in plan.items():
        if s.kind == "train":
            kind = "sft" if "sft" in s.data else "pref_train"
            n, p, r = counts[kind]
            per = (p + r) if kind == "sft" else 2 * (p + r)
            extra = 2 * n * (p + r) if s.config["method"] == "dpo" else 0
            est[name] = int(s.config["training"]["epochs"] * n * per + extra)
        elif s.kind == "topk":
            n, p, r = counts["pref_train"]
            est[name] = int(2 * n * (p + r))
        elif s.kind == "samples":
            n, p, _ = counts["pref_train"]
            est[name] = int(n * (p + max_new))
        elif s.kind == "advantages":
            n, p, _ = counts["pref_train"]
            est[name] = int(2 * n * (p + max_new))
        else:
            n, p, r = counts["pref_test"]
            est[name] = int(2 * n * (p + r))
    return est


def _recipe_counts(recipe: dict) -> dict:
    e = recipe["data"].get("estimate") or {}
    d = recipe["data"]
    p, r = e.get("prompt_tokens", 100), e.get("response_tokens", 100)
    pick = lambda limit, default: int(limit) if limit is not None else int(default)  # noqa: E731
    return {"sft": (pick(d.get("sft_limit"), e.get("sft_conversations", 1000)), p, r),
            "pref_train": (pick(d.get("train_limit"), e.get("train_pairs", 1000)), p, r),
            "pref_test": (pick(d.get("test_limit"), e.get("test_pairs", 100)), p, r)}


def print_plan(console, plan, recipe, student, teacher, methods, data_dir, missing, cache, estimates, exact_counts) -> None:
    from rich.table import Table

    console.print(f"[bold]bench run[/bold]  profile={recipe['profile']}  methods={','.join(methods)}  seed={recipe['seed']}")
    console.print(f"  student: {student}    teacher: {teacher if any(s.role == 'teacher' for s in plan.values()) else '(not needed)'}")
    d = recipe["data"]
    console.print(f"  data: pairs={d['source']} (train limit {d.get('train_limit')}, test limit {d.get('test_limit')}), "
                  f"sft={d['sft_source']} (limit {d.get('sft_limit')}); data dir: {data_dir or '(none: hub only)'}")
    console.print(f"  lengths: {recipe['lengths']}   top-K: {recipe['topk']['k']}   generation: {recipe['generation']}   "
                  f"advantages: {recipe['advantages']}")
    table = Table(show_header=True, header_style="bold", box=None)
    for col in ("stage", "kind", "inputs", "settings", "est. tokens", "cache"):
        table.add_column(col)
    for name, s in plan.items():
        if s.kind == "train":
            t = s.config["training"]
            nondefault = {k: v for k, v in s.config["loss"].items()}
            settings = (f"{s.config['method']} lr={t['learning_rate']:g} ep={t['epochs']:g} bs={t['batch_size']}x{t['grad_accum']} "
                        + " ".join(f"{k}={v}" for k, v in nondefault.items() if k in _RELEVANT_LOSS.get(s.config["method"], ())))
        elif s.kind == "eval":
            settings = f"heldout={s.config.get('heldout')} benchmarks={s.config.get('benchmarks')} limit={s.config.get('limit')}"
        else:
            settings = ", ".join(f"{k}={v}" for k, v in s.config.items() if k not in ("lengths",))
        inputs = ", ".join([s.base_model] if s.base_model else []) + ", ".join(f"{r}={d}" for r, d in s.deps.items())
        if s.key is None:
            state = "?"
        else:
            state = "cached" if cache.is_done(name, s.key) else "to run"
        table.add_row(name, s.kind, inputs, settings, f"{estimates.get(name, 0):,}" + ("" if exact_counts else " ~"), state)
    console.print(table)
    if not exact_counts:
        console.print("  [dim]~ token estimates from the recipe's data.estimate (data not loaded)[/dim]")
    for item, reason in missing.items():
        console.print(f"  [yellow]missing[/yellow] {item}: {reason}")


_RELEVANT_LOSS = {"dpo": ("beta",), "dckd": ("sft_weight", "distill_weight", "chosen_distill_weight", "rejected_distill_weight"),
                  "adpa": ("sft_weight", "adpa_weight", "adpa_clip"), "adpa_plus": ("sft_weight", "adpa_weight", "adpa_clip")}


def check_availability(plan, recipe, data_dir) -> dict[str, str]:
    from bench.models import availability
    from bench.pipeline.data import data_availability
    from bench.pipeline.plan import base_models

    missing = {}
    for model in base_models(plan):
        reason = availability(model)
        if reason:
            missing[f"model {model}"] = reason
    for name, reason in data_availability(recipe, data_dir).items():
        missing[f"data set {name}"] = reason
    return missing


def _hyperparameters(stage, recipe) -> dict:
    hp = {**{k: v for k, v in stage.config["training"].items()}, **stage.config["loss"]}
    method = stage.config["method"]
    if method == "dckd":
        hp["alpha"] = stage.config["loss"]["chosen_distill_weight"]
    if method in ("adpa", "adpa_plus"):
        hp["gamma"] = stage.config["loss"]["adpa_weight"]
        hp["advantage_reference"] = recipe["advantages"]["reference"]
        hp["ref_floor"] = recipe["advantages"]["ref_floor"]
    return hp


def write_results(run_dir: Path, recipe, plan, rows, methods, student, teacher, seed, data, notes, study="main") -> Path:
    import torch
    import transformers

    from bench.pipeline.cache import write_json_atomic
    from bench.pipeline.plan import TEACHER_ROWS

    by_stage = {r["stage"]: r for r in rows}
    path = run_dir / "results.json"
    old = json.loads(path.read_text()) if path.exists() else {}
    rows_methods = methods + [t for t in TEACHER_ROWS if f"eval_{t}" in plan]
    entries = [e for e in old.get("entries", []) if not (e.get("student") == student and e.get("method") in rows_methods
                                                         and e.get("seed") == seed and e.get("study", "main") == study)]
    for method in rows_methods:
        closure = _closure(plan, method)
        walls = {n: by_stage[n]["wall_time_s"] for n in closure}
        eval_name = f"eval_{method}"
        metrics, eval_notes, payload = [], [], {}
        if eval_name in plan:
            payload = json.loads((Path(by_stage[eval_name]["dir"]) / "metrics.json").read_text())
            metrics, eval_notes = payload["metrics"], payload["notes"]
            walls["eval"] = by_stage[eval_name]["wall_time_s"]
        else:
            eval_notes = ["evaluation skipped (--no-eval)"]
        walls["train"] = round(sum(w or 0 for n, w in walls.items() if n in closure and not n.startswith("eval")), 2)
        entries.append({
            "student": student, "method": method, "seed": seed, "model": str(Path(by_stage[method]["dir"]) / "model"),
            "run_dir": str(run_dir), "teacher": teacher if any(plan[n].role == "teacher" for n in closure) else None,
            "wall_time_s": walls, "hyperparameters": _hyperparameters(plan[method], recipe), "metrics": metrics,
            "training": by_stage[method]["summary"], "notes": eval_notes, "study": study,
            "curves": payload.get("curves", []), "samples": payload.get("samples", []),
        })
    results = {
        "schema": "adpa-bench/results/v1", "profile": recipe["profile"], "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "meta": {**old.get("meta", {}),
                 "versions": {"adpa-bench": _version(), "torch": torch.__version__, "transformers": transformers.__version__},
                 "machine": f"{platform.machine()} {platform.system()} {os.cpu_count()} cpus, torch threads {torch.get_num_threads()}",
                 "data": {**data.descriptor, "versions": data.versions}, "notes": notes,
                 "stages": {r["stage"]: {"status": r["status"], "wall_time_s": r["wall_time_s"], "cpu_time_s": r.get("cpu_time_s"),
                                         "dir": r["dir"]} for r in rows}},
        "entries": entries,
    }
    write_json_atomic(path, results)
    return path


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("adpa-bench")
    except Exception:  # noqa: BLE001 - an uninstalled checkout
        return "0+local"


def _quiet_libraries() -> None:
    """Our own progress lines replace the libraries' per-load bars and per-step dicts."""
    import transformers

    import warnings

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    warnings.filterwarnings("ignore", category=FutureWarning, module="transformers")
    warnings.filterwarnings("ignore", message=".*pin_memory.*")


def _setup_logging(run_dir: Path) -> logging.Handler:
    handler = logging.FileHandler(run_dir / "run.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    return handler


def run(args) -> int:
    from rich.console import Console

    from bench.datasets import data_dir as resolve_data_dir
    from bench.models import cache_dir
    from bench.pipeline.cache import StageCache
    from bench.pipeline.plan import build_plan
    from bench.recipe import RecipeError, load_recipe, profile_for, teacher_for

    console = Console(stderr=True, highlight=False)
    if not console.is_terminal:  # logs and pipes: wide lines rather than a wrapped table
        console = Console(stderr=True, highlight=False, width=200)
    try:
        recipe = load_recipe(args.profile or profile_for(args.model), args.set)
        if args.seed is not None:
            recipe["seed"] = args.seed
        methods = _methods(args.method)
        student = args.model or recipe["student"]
        teacher = teacher_for(recipe, student, args.teacher)
        plan = build_plan(recipe, methods, student, teacher, evaluate=not args.no_eval, teacher_rows=args.teacher_rows)
    except (RecipeError, ValueError) as err:
        console.print(f"[red]error:[/red] {err}")
        return 2
    seed = int(recipe["seed"])
    data_dir = resolve_data_dir(args.data_dir)
    _quiet_libraries()
    cache = StageCache(Path(args.cache_dir).expanduser() if args.cache_dir else cache_dir() / "stages")
    missing = check_availability(plan, recipe, data_dir)

    if missing and not args.dry_run:
        console.print(f"[red]error:[/red] cannot run offline={os.environ.get('HF_HUB_OFFLINE', '0')}: nothing was done. Missing:")
        for item, reason in missing.items():
            console.print(f"  - {item}: {reason}")
        console.print("Supply local copies: models as folders (--model DIR, --teacher DIR); data sets through the data "
                      "directory (--data-dir DIR or BENCH_DATA_DIR), with the file names listed above.")
        return 3

    data = None
    if not missing:
        prepared = _prepare(plan, recipe, student, teacher, data_dir, seed, console)
        if isinstance(prepared, int):
            return prepared
        data, examples_ctx = prepared
    if args.dry_run:
        if data is not None:
            counts = {"sft": _avg_lengths(examples_ctx.examples("student", "sft"), ("response_ids",)),
                      "pref_train": _avg_lengths(examples_ctx.examples("student", "pref_train"), ("chosen_ids", "rejected_ids")),
                      "pref_test": _avg_lengths(examples_ctx.examples("student", "pref_test"), ("chosen_ids", "rejected_ids"))}
        else:
            counts = _recipe_counts(recipe)
        print_plan(console, plan, recipe, student, teacher, methods, data_dir, missing, cache,
                   estimate_tokens(plan, recipe, counts), data is not None)
        return 0

    run_dir = Path(args.run_dir or Path("runs") / f"{recipe['profile']}-{_slug(student)}-s{seed}").expanduser()
    run_dir.mkdir(parents=True, exist_ok=True)
    handler = _setup_logging(run_dir)
    try:
        return _execute(console, run_dir, plan, recipe, methods, student, teacher, seed, data, examples_ctx, cache, data_dir, args.study)
    finally:
        log.removeHandler(handler)
        handler.close()


def _prepare(plan, recipe, student, teacher, data_dir, seed, console):
    """Fingerprint models, check vocabularies, load the data and key every stage."""
    from methods.tokenize import check_tokenizer_pair

    from bench.datasets import DataUnavailable
    from bench.models import ModelUnavailable, fingerprint
    from bench.pipeline.data import load_run_data
    from bench.pipeline.plan import base_models, compute_keys, uses_teacher
    from bench.pipeline.progress import StageProgress
    from bench.pipeline.stages import RunContext

    try:
        fingerprints = {m: fingerprint(m) for m in set(base_models(plan)) | {student}}
        data = load_run_data(recipe, data_dir)
    except (ModelUnavailable, DataUnavailable) as err:
        console.print(f"[red]error:[/red] {err}")
        return 3
    ctx = RunContext(recipe, student, teacher, seed, plan, None, data, StageProgress(console), data_dir)
    if uses_teacher(plan):
        try:
            pair = check_tokenizer_pair(ctx.tokenizer("teacher"), ctx.tokenizer("student"), teacher, student)
        except ValueError as err:
            console.print(f"[red]error:[/red] {err}")
            return 2
        for warning in pair.warnings:
            console.print(f"[yellow]warning:[/yellow] {warning}")
    compute_keys(plan, fingerprints, data.versions, seed, student)
    return data, ctx


def _execute(console, run_dir, plan, recipe, methods, student, teacher, seed, data, ctx, cache, data_dir, study="main") -> int:
    import transformers
    from rich.table import Table

    from bench.pipeline.cache import write_json_atomic
    from bench.pipeline.runner import execute

    transformers.logging.set_verbosity_error()
    ctx.cache = cache
    log.info("bench run %s: methods=%s student=%s teacher=%s seed=%s cache=%s", " ".join(sys.argv[1:]), methods, student, teacher, seed, cache.root)
    write_json_atomic(run_dir / "plan.json", {"recipe": recipe, "methods": methods, "student": student, "teacher": teacher,
                                              "stages": {n: {"kind": s.kind, "deps": s.deps, "config": s.config, "key": s.key,
                                                             "base_model": s.base_model} for n, s in plan.items()}})
    start = time.monotonic()
    rows = execute(ctx, console)
    notes = sorted({n for r in rows if r["stage"].startswith("eval_") for n in r["summary"].get("notes", [])})
    path = write_results(run_dir, recipe, plan, rows, methods, student, teacher, seed, data, notes, study)
    table = Table(title=f"bench run: {time.monotonic() - start:.1f}s", box=None, header_style="bold")
    for col in ("stage", "status", "wall s", "cpu s", "artifacts"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["stage"], r["status"], f"{r['wall_time_s'] or 0:.1f}", f"{r.get('cpu_time_s') or 0:.1f}", r["dir"])
    console.print(table)
    results = json.loads(path.read_text())
    for entry in results["entries"]:
        if entry["method"] in methods and entry["seed"] == seed and entry["student"] == student:
            shown = ", ".join(f"{m['benchmark']}/{m['metric']}={m['value']:.4g}" for m in entry["metrics"] if m.get("value") is not None)
            console.print(f"{entry['method']:<10} {shown}")
    console.print(f"results: {path}   log: {run_dir / 'run.log'}")
    log.info("finished; results at %s", path)
    return 0
