"""`bench judge-check --judge J`: how far a judge agrees with GPT-4 on MT-Bench and with the exact verifier.

    bench judge-check --judge local-qwen1.5b [--questions 16] [--models a,b,...] [--answer-tokens 300]
                      [--verifier-pairs 120] [--references mt_bench,verifier] [--threads N] [--data-dir DIR]

Writes ``$BENCH_CACHE_DIR/judge_checks/<judge>.json`` (bench.judges.agreement; ``load_agreement`` reads it) and
prints a table. Judgments are cached like every judge's, so a rerun (or a larger --questions) only sends what is
new. Defaults are sized for about an hour of the slowest local judge (Qwen2.5-Coder-1.5B) on 2 cores.
"""
from __future__ import annotations

import datetime as _dt
import os
import sys
import time
from pathlib import Path

DEFAULT_QUESTIONS = 16
DEFAULT_ANSWER_TOKENS = 300
DEFAULT_VERIFIER_PAIRS = 120


def register(sub) -> None:
    p = sub.add_parser("judge-check", help="measure a judge's agreement with GPT-4 (MT-Bench) and the exact verifier")
    p.add_argument("--judge", required=True, help="judge id (local-smollm2, local-qwen0.5b, local-qwen1.5b[:greedy], openai:...)")
    p.add_argument("--questions", type=int, default=DEFAULT_QUESTIONS,
                   help=f"MT-Bench questions graded for every model, spread over the 8 categories (default {DEFAULT_QUESTIONS})")
    p.add_argument("--models", default=None, help="comma-separated models with GPT-4 published scores (default: all 25)")
    p.add_argument("--answer-tokens", type=int, default=DEFAULT_ANSWER_TOKENS,
                   help=f"cut each published answer at this many SmolLM2-tokenizer tokens (default {DEFAULT_ANSWER_TOKENS})")
    p.add_argument("--verifier-pairs", type=int, default=DEFAULT_VERIFIER_PAIRS,
                   help=f"at least this many answer pairs with different verifier scores (default {DEFAULT_VERIFIER_PAIRS})")
    p.add_argument("--references", default="verifier,mt_bench", help="which references to measure (verifier, mt_bench)")
    p.add_argument("--threads", type=int, default=None, help="threads of a local judge's server (default: as in evaluations, every core up to 4; "
                   "on a busy machine 1 is much faster than 2: llama.cpp's threads wait for each other)")
    p.add_argument("--judge-timeout", type=float, default=None, help="seconds to wait for one judge request")
    p.add_argument("--judge-retries", type=int, default=None, help="retries of a failed judge request")
    p.add_argument("--judge-key-env", default=None, help="environment variable holding an API judge's key")
    p.add_argument("--data-dir", type=Path, default=os.environ.get("BENCH_DATA_DIR"), help="shared data folder")
    p.add_argument("--out", type=Path, default=None, help="folder for the result (default $BENCH_CACHE_DIR/judge_checks)")
    p.set_defaults(func=run)


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _validate(args) -> str | None:
    refs = {r.strip() for r in args.references.split(",") if r.strip()}
    if not refs or refs - {"verifier", "mt_bench"}:
        return f"--references {args.references!r}: use verifier, mt_bench or both"
    for name in ("questions", "answer_tokens", "verifier_pairs"):
        if getattr(args, name) < 1:
            return f"--{name.replace('_', '-')} must be at least 1 (got {getattr(args, name)})"
    if "mt_bench" in refs and not args.data_dir:
        return "the MT-Bench reference needs the data folder: pass --data-dir or set BENCH_DATA_DIR"
    if args.data_dir and not (Path(args.data_dir) / "mt_bench").is_dir():
        return f"{Path(args.data_dir) / 'mt_bench'} not found (the shared data folder holds mt_bench/)"
    return None


def _judge_options(args) -> dict:
    options = {}
    if args.judge.startswith("local-") and args.threads:
        options["threads"] = args.threads
    if args.judge_timeout is not None:
        options["timeout_s"] = args.judge_timeout
    if args.judge_retries is not None:
        options["max_retries"] = args.judge_retries
    return options


def _rate(judge, jobs: list[dict], label: str) -> tuple[list, float]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from bench.judges import RatingRequest

    started = time.time()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  transient=True) as bar:
        task = bar.add_task(label, total=len(jobs))
        ratings = judge.rate([RatingRequest(messages=j["messages"]) for j in jobs], progress=lambda n: bar.advance(task, n))
    return ratings, time.time() - started


def check_verifier(judge, args, folder: Path) -> dict:
    from bench.datasets import builtin

    from bench.evals.judge_checks import verifier as ver
    from bench.judges.agreement import checks_dir

    items, per_prompt = ver.answered_prompts(list(builtin.test_prompts()), args.verifier_pairs,
                                             Path(args.out or checks_dir()))
    jobs = ver.build_jobs(items, per_prompt, folder)
    ratings, seconds = _rate(judge, jobs, f"verifier answers ({judge.id})")
    return {**ver.agreement(per_prompt, jobs, ratings), "wall_s": round(seconds, 1),
            "prompt": "MT-Bench single-v1 (bench.evals.mt_bench.judge_prompt), the built-in prompt as the question",
            "verifier_score": "strict fraction of constraints satisfied; pass = every constraint (strict)",
            "answer_generation": {"model": ver.ANSWER_MODEL, **ver.GENERATION}}


def mt_bench_models(args, folder: Path) -> tuple[list[str], dict]:
    """The models to grade (default: every one with a published GPT-4 score, best first) and their scores."""
    from bench.evals.judge_checks import mt_bench as mt

    gpt4 = mt.published_scores(folder)
    models = [m.strip() for m in args.models.split(",") if m.strip()] if args.models else sorted(gpt4, key=lambda m: -gpt4[m])
    unknown = [m for m in models if m not in gpt4]
    if unknown:
        raise ValueError(f"--models: no GPT-4 published score for {', '.join(unknown)} (in {folder / mt.SCORES_FILE})")
    if len(models) < 3:
        raise ValueError(f"--models: a rank correlation needs at least 3 models (got {len(models)})")
    return models, gpt4


def check_mt_bench(judge, args, folder: Path) -> dict:
    from transformers import AutoTokenizer

    from bench.evals.judge_checks import mt_bench as mt
    from bench.models import materialise_tokenizer

    models, gpt4 = mt_bench_models(args, folder)
    jobs, meta = mt.build_jobs(folder, args.questions, models, args.answer_tokens, AutoTokenizer.from_pretrained(materialise_tokenizer()))
    ratings, seconds = _rate(judge, jobs, f"MT-Bench turn 1 ({judge.id})")
    return {**mt.agreement(jobs, ratings, gpt4, models, meta["question_ids"]), **meta, "wall_s": round(seconds, 1),
            "turn": 1, "answer_tokens": args.answer_tokens, "answer_tokenizer": "SmolLM2-135M-Instruct",
            "reference": "GPT-4 MT-Bench scores published by LMSYS (single grading, both turns, 80 questions)"}


def run(args) -> int:
    from bench.judges import get_judge
    from bench.judges.agreement import merge_previous, summary_text, write_check

    problem = _validate(args)
    if problem:
        return _fail(problem)
    refs = [r.strip() for r in args.references.split(",") if r.strip()]
    folder = Path(args.data_dir) / "mt_bench" if args.data_dir else None
    try:
        if "mt_bench" in refs:
            mt_bench_models(args, folder)  # bad --models fail before any judging
    except (ValueError, FileNotFoundError) as err:
        return _fail(str(err))
    try:
        judge = get_judge(args.judge, api_key_env=args.judge_key_env, **_judge_options(args))
    except (ValueError, RuntimeError, OSError) as err:
        return _fail(f"--judge {args.judge}: {err}")
    started = time.time()
    result = {"judge": judge.describe(), "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
              "cpu_count": os.cpu_count()}
    try:
        for ref in refs:
            result[ref] = (check_verifier if ref == "verifier" else check_mt_bench)(judge, args, folder)
        result["judge_stats"] = judge.stats.as_dict()
    except (ValueError, FileNotFoundError) as err:
        return _fail(str(err))
    finally:
        judge.close()
    result["wall_s"] = round(time.time() - started, 1)
    judged = sum(result[r].get("n_answers", result[r].get("n_judgments", 0)) for r in refs)
    # Cache hits make this smaller than a cold run's cost; judge_stats says how many requests were sent.
    result["seconds_per_judgment"] = round(sum(result[r]["wall_s"] for r in refs) / max(1, judged), 2)
    for ref in refs:
        result[ref]["measured"] = result["created"]
    result = merge_previous(result, args.out)  # a check of one reference keeps the other's last measurement
    path = write_check(result, args.out)
    print_table(result)
    print(summary_text(result))
    print(f"written to {path}")
    return 0


def print_table(result: dict) -> None:
    from bench.judges.agreement import _interval, _value

    rows = [("reference", "measure", "value", "95% interval", "n", "wall s")]
    ver = result.get("verifier")
    if ver:
        acc, roc = ver["pairwise_accuracy"], ver["auroc"]
        rows.append(("exact verifier", "pairwise accuracy (Wilson)", _value(acc["value"]), _interval(acc["ci95"]),
                     f"{acc['n_pairs']} pairs / {ver['n_prompts']} prompts", f"{ver['wall_s']:.0f}"))
        rows.append(("", "  (prompt bootstrap)", "", _interval(acc["ci95_bootstrap_prompts"]), f"{acc['ties']} ties", ""))
        rows.append(("", "AUROC pass vs fail", _value(roc["value"]), _interval(roc["ci95"]),
                     f"{roc['n_pass']} pass / {roc['n_fail']} fail", ""))
    mt = result.get("mt_bench")
    if mt:
        size = f"{mt['n_models']} models x {mt['n_questions']} q"
        rows.append(("GPT-4, MT-Bench", "Spearman (model means)", _value(mt["spearman"]["value"]),
                     _interval(mt["spearman"]["ci95"]), size, f"{mt['wall_s']:.0f}"))
        rows.append(("", "Kendall tau", _value(mt["kendall"]["value"]), _interval(mt["kendall"]["ci95"]), size, ""))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    print(f"judge {result['judge']['id']} (rating: {result['judge']['settings'].get('rating_mode', 'n/a')}), "
          f"{result['wall_s']:.0f} s in all, {result.get('seconds_per_judgment', 'n/a')} s per judgment")
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))
