"""`bench eval`: run registered benchmarks on one model and write their rows.

    bench eval --model M --benchmarks mt_bench,alpaca_eval,open_llm,reward,gold --data-dir DIR
               [--limit N] [--judge ID] [--profile embedded|paper] [--reference-model M] [--out DIR] [--json FILE]

Every benchmark shares one EvalContext (the model is loaded once, a judge server is started once) and
the judges are closed at the end, errors included. A benchmark that fails is reported as a row with the
error as its missing_reason and the command exits 1; the others still run. ``evaluate()`` is the same
thing as a function (the pipeline's eval stage calls it).
"""
from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import time
import traceback
from pathlib import Path

log = logging.getLogger(__name__)


def register(sub) -> None:
    p = sub.add_parser("eval", help="evaluate one model on benchmarks (MT-Bench, AlpacaEval, Open LLM, reward, gold)")
    p.add_argument("--model", required=True, help="model alias, hub id or local folder")
    p.add_argument("--benchmarks", default="mt_bench,alpaca_eval,open_llm,reward,gold",
                   help="comma-separated benchmark names (bench.evals.BENCHMARKS)")
    p.add_argument("--data-dir", type=Path, default=os.environ.get("BENCH_DATA_DIR"), help="offline data folder (default $BENCH_DATA_DIR)")
    p.add_argument("--limit", type=int, default=None, help="first N items of each benchmark (quick runs)")
    p.add_argument("--judge", default=None, help="judge id for judged benchmarks: local-smollm2, openai:<model>@<base_url>, gold, reward:<model> "
                                                 "(default: the profile's judge per benchmark)")
    p.add_argument("--judge-key-env", default=None, help="name of the environment variable holding the judge's API key (default OPENAI_API_KEY)")
    p.add_argument("--profile", default="embedded", help="profile whose default judges apply (embedded: local judge; paper: GPT-4)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--max-new-tokens", type=int, default=None, help="generation length for MT-Bench/AlpacaEval/gold answers")
    p.add_argument("--reference-model", default=None, help="reference model (alias, hub id or folder) for the reward "
                   "benchmark's implicit-reward accuracy, usually the model this one was trained from")
    p.add_argument("--out", type=Path, default=Path("eval-out"), help="folder for answers, judgments and annotations")
    p.add_argument("--json", type=Path, default=None, help="write the rows as JSON here (default <out>/results.json)")
    p.set_defaults(func=run)


def evaluate(model_spec: str, benchmarks, data_dir=None, out_dir="eval-out", limit: int | None = None, seed: int = 42,
             judge: str | None = None, profile: str = "embedded", options: dict | None = None, timings: dict | None = None):
    """Run ``benchmarks`` (names or a comma-separated string) on one model -> list[MetricResult].

    ``timings`` (a dict), when given, receives seconds per benchmark.
    """
    from bench.evals import BENCHMARKS, EvalContext, MetricResult
    from bench.judges import close_judges

    names = [b.strip() for b in (benchmarks.split(",") if isinstance(benchmarks, str) else benchmarks) if b.strip()]
    ctx = EvalContext(model_spec=str(model_spec), data_dir=Path(data_dir) if data_dir else None, out_dir=Path(out_dir),
                      limit=limit, seed=seed, judge=judge, options={"profile": profile, **(options or {})})
    timings = {} if timings is None else timings
    rows: list = []
    try:
        for name in names:
            started = time.time()
            if name not in BENCHMARKS:
                rows.append(MetricResult(name, "all", None, missing_reason=f"benchmark {name!r} is not in this checkout "
                                         f"(available: {', '.join(BENCHMARKS)})", details={"profile": profile}))
                continue
            try:
                result = BENCHMARKS[name].run(ctx)
            except Exception as err:  # noqa: BLE001 - one failing benchmark must not lose the others
                log.error("benchmark %s failed:\n%s", name, traceback.format_exc())
                result = [MetricResult(name, "all", None, missing_reason=f"failed: {type(err).__name__}: {err}",
                                       details={"error": traceback.format_exc(limit=5), "failed": True})]
            timings[name] = round(time.time() - started, 1)
            for row in result:
                row.details.setdefault("profile", profile)
                row.details.setdefault("wall_time_s", timings[name])
            rows.extend(result)
    finally:
        close_judges(ctx)
    return rows


def write_results(path: Path, model: str, rows, timings: dict, args_meta: dict) -> None:
    import bench

    data = {"schema": "adpa-bench/eval/v1", "model": model,
            "created": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "meta": {"timings_s": timings, "versions": {"adpa-bench": getattr(bench, "__version__", None)}, **args_meta},
            "metrics": [r.to_dict() for r in rows]}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)


def print_table(rows, timings: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="bench eval")
    for column, justify in (("benchmark", "left"), ("metric", "left"), ("value", "right"), ("± se", "right"),
                            ("n", "right"), ("failed", "right"), ("judge", "left"), ("note", "left")):
        table.add_column(column, justify=justify, overflow="fold")
    for r in rows:
        judge = (r.details.get("judge") or {}).get("id", "") if isinstance(r.details.get("judge"), dict) else ""
        table.add_row(r.benchmark, r.metric, "-" if r.value is None else f"{r.value:.3f}",
                      "" if r.stderr is None else f"{r.stderr:.3f}", str(r.n_items), str(r.n_failures), judge,
                      r.missing_reason or "")
    console = Console()
    console.print(table)
    console.print("timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    selections = {(r.details.get("judge") or {}).get("selected") for r in rows if isinstance(r.details.get("judge"), dict)}
    for s in sorted(x for x in selections if x):
        console.print(f"judge: {s}")


def run(args) -> int:
    options = {}
    if args.judge_key_env:
        options["judge_api_key_env"] = args.judge_key_env
    if args.max_new_tokens:
        options["max_new_tokens"] = args.max_new_tokens
    if args.reference_model:
        options["reference_model"] = args.reference_model
    timings: dict = {}
    rows = evaluate(args.model, args.benchmarks, data_dir=args.data_dir, out_dir=args.out, limit=args.limit, seed=args.seed,
                    judge=args.judge, profile=args.profile, options=options, timings=timings)
    print_table(rows, timings)
    target = args.json or (args.out / "results.json")
    write_results(target, args.model, rows, timings, {"benchmarks": args.benchmarks, "limit": args.limit, "judge": args.judge,
                                                      "profile": args.profile, "seed": args.seed, "data_dir": str(args.data_dir)})
    print(f"rows written to {target}")
    return 1 if any(r.details.get("failed") for r in rows) else 0
