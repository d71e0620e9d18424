"""`bench judge-check`: measure a judge against GPT-4's MT-Bench scores, human HH preferences and the exact
verifier, write the agreement file and print its table (arguments: bench/arguments/judge_check.py)."""
from __future__ import annotations

import datetime as _dt
import os
import sys
import time
from functools import partial
from pathlib import Path

from transformers import AutoTokenizer

from bench.datasets import builtin
from bench.evals.judge_checks import floor as fl
from bench.evals.judge_checks import gpt4_judgments as gj
from bench.evals.judge_checks import hh
from bench.evals.judge_checks import mt_bench as mt
from bench.evals.judge_checks import placed as pl
from bench.evals.judge_checks import verifier as ver
from bench.evals.judge_checks.length_baselines import add_length_baselines
from bench.evals.mt_bench import load_data
from bench.io import read_json
from bench.judges import PairRequest, Rating, RatingRequest, default_judge_id, get_judge
from bench.judges.agreement import (PLACED_IN_MT_BENCH, REFERENCES, _interval, _value, check_path, checks_dir,
                                   merge_previous, previous_check, summary_text, write_check)
from bench.judges.agreement_stats import position_consistency
from bench.judges.protocols import HH_PAIR_PROMPT_ID, HH_SINGLE_PROMPT_ID
from bench.judges.validation import check_shortfall
from bench.models import materialise_tokenizer
from bench.progress import Reporter

LENGTH_ROW = "no judge, length alone: "  # the baseline a judge must beat: the longer answer rated higher


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _validate(args) -> str | None:
    refs = {r.strip() for r in args.references.split(",") if r.strip()}
    if not refs or refs - set(REFERENCES):
        return f"--references {args.references!r}: use some of {', '.join(REFERENCES)}"
    for name in ("questions", "answer_tokens", "verifier_pairs", "hh_pairs"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            return f"--{name.replace('_', '-')} must be at least 1 (got {getattr(args, name)})"
    if "placed" in refs and not args.place:
        return "--references placed places the models of --place: name them (comma-separated)"
    if refs & {"mt_bench", "floor", "placed", "hh"} and not args.data_dir:
        return ("the MT-Bench, floor, placed and HH references need the data folder: pass --data-dir or set "
                "BENCH_DATA_DIR")
    if args.data_dir and not (Path(args.data_dir) / "mt_bench").is_dir():
        return f"{Path(args.data_dir) / 'mt_bench'} not found (the shared data folder holds mt_bench/)"
    if args.answers is not None and not Path(args.answers).is_dir():
        return f"--answers {args.answers}: not a folder (it holds the models' FastChat answer files, <model>.jsonl)"
    if args.gpt4_judgments is not None and not Path(args.gpt4_judgments).is_file():
        return f"--gpt4-judgments {args.gpt4_judgments}: not found (FastChat's gpt-4_single.jsonl)"
    return None


def _place_problem(args, folder: Path, reference: tuple | None) -> str | None:
    """--place's models checked before any judging (a typo must not cost the hour the other references take): each
    has an answer file, and none is a model of this run's MT-Bench check."""
    try:  # an earlier check's models are known only once the judge's settings are: check_placed refuses those
        models = pl.parse_models(args.place, {"model_means": dict.fromkeys(reference[0] if reference else [])})
    except ValueError as err:
        return str(err)
    missing = [str(path) for path in (mt.answer_file(folder, m, args.answers) for m in models) if not path.is_file()]
    if missing:
        return f"--place: {', '.join(missing)} not found (a model's FastChat answers, <model>.jsonl)"
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


# A full check runs for an hour or more: a bar on a terminal, elsewhere (nohup, a pipe) a line with rate and ETA.
PROGRESS = Reporter()


def _rate(judge, jobs: list[dict], label: str) -> tuple[list, float]:
    started = time.time()
    with PROGRESS.task(label, len(jobs), "judgments") as task:
        ratings = judge.rate([RatingRequest(messages=j["messages"]) for j in jobs], progress=task.advance)
    return ratings, time.time() - started


def check_verifier(judge, args, folder: Path) -> dict:
    items, per_prompt = ver.answered_prompts(list(builtin.test_prompts()), args.verifier_pairs,
                                             Path(args.out or checks_dir()))
    jobs = ver.build_jobs(items, per_prompt, folder)
    if judge.supports_pairs:
        requests, keys = ver.pair_requests(items, per_prompt)
        prefs, seconds = _prefer(judge, requests, f"verifier answer pairs ({judge.id})")
        result = {**ver.pair_agreement(per_prompt, keys, prefs), "n_judgments": len(keys),
                  "prompt": "MT-Bench pair-v2 (FastChat's pairwise prompt, the judge's protocol variant), the built-in "
                            "prompt as the question, the two answers of a pair in both orders"}
    else:
        ratings, seconds = _rate(judge, jobs, f"verifier answers ({judge.id})")
        result = {**ver.agreement(per_prompt, jobs, ratings),
                  "prompt": "MT-Bench single-v1 (bench.evals.mt_bench.judge_prompt; in the judge's protocol variant), "
                            "the built-in prompt as the question"}
    return {**result, "length_baseline": ver.length_baseline(per_prompt, jobs), "wall_s": round(seconds, 1),
            "verifier_score": "strict fraction of constraints satisfied; pass = every constraint (strict)",
            "answer_generation": {"model": ver.ANSWER_MODEL, **ver.GENERATION}}


def gpt4_reference(args, folder: Path) -> tuple[dict, dict]:
    """GPT-4's scores (model -> published score, or model -> {question_id: score} from per-answer judgments) and
    where they come from: --gpt4-judgments, else the published scores, else the judgments file beside them."""
    path = args.gpt4_judgments
    if path is None and not (folder / mt.SCORES_FILE).is_file() and (folder / gj.JUDGMENTS_FILE).is_file():
        path = folder / gj.JUDGMENTS_FILE
    if path is None:
        return mt.published_scores(folder), {
            "reference": "GPT-4 MT-Bench scores published by LMSYS (single grading, both turns, 80 questions)"}
    scores, judge = gj.judged_scores(Path(path))
    return scores, {"reference": f"{judge}'s judgment of each graded answer (turn 1, the same questions), averaged "
                                 "per model", "gpt4_judgments": str(path), "gpt4_judge": judge}


def mt_bench_models(args, folder: Path) -> tuple[list[str], dict, dict]:
    """The models to grade (default: every one with a GPT-4 reference and answers, best first), their GPT-4 scores and
    the reference's description."""
    gpt4, source = gpt4_reference(args, folder)
    where = source.get("gpt4_judgments") or folder / mt.SCORES_FILE

    def overall(m):
        return gpt4[m] if not isinstance(gpt4[m], dict) else sum(gpt4[m].values()) / len(gpt4[m])

    if args.models:
        models = [m.strip() for m in args.models.split(",") if m.strip()]
    elif "gpt4_judgments" in source:  # a judgments file may also judge models whose answers are not here
        models = sorted((m for m in gpt4 if mt.answer_file(folder, m, args.answers).is_file()), key=lambda m: -overall(m))
    else:
        models = sorted(gpt4, key=lambda m: -overall(m))
    unknown = [m for m in models if m not in gpt4]
    if unknown:
        raise ValueError(f"--models: no GPT-4 score for {', '.join(unknown)} (in {where})")
    if len(models) < 3:
        raise ValueError(f"--models: a rank correlation needs at least 3 models with answers in "
                         f"{mt.answers_folder(folder, args.answers)} "
                         f"(got {len(models)})")
    return models, gpt4, {**source, "answers_dir": None if args.answers is None else str(args.answers)}


def _prefer(judge, requests: list, label: str) -> tuple[list, float]:
    started = time.time()
    with PROGRESS.task(label, len(requests), "pairs") as task:
        prefs = judge.prefer(requests, progress=task.advance)
    return prefs, time.time() - started


def _rate_mt_bench(judge, jobs: list[dict], what: str) -> tuple[list, float, list | None]:
    """MT-Bench turn-1 jobs rated as the check rates them: a single-answer judge rates each answer; a pairwise judge
    compares it with gpt-3.5-turbo's answer in both orders, rating 1 + 9 * P(answer is better). Also the
    preferences (None for a single-answer judge), for their position consistency."""
    if not judge.supports_pairs:
        ratings, seconds = _rate(judge, jobs, f"MT-Bench turn 1{what} ({judge.id})")
        return ratings, seconds, None
    requests = [PairRequest(j["question"], j["answer"], j["baseline"], j["reference"]) for j in jobs]
    prefs, seconds = _prefer(judge, requests, f"MT-Bench turn 1{what} vs {mt.BASELINE_MODEL} ({judge.id})")
    ratings = [Rating(None if p.preference is None else 1.0 + 9.0 * (2.0 - p.preference), p.raw, p.error) for p in prefs]
    return ratings, seconds, prefs


def check_mt_bench(judge, args, folder: Path, reference: tuple[list[str], dict, dict]) -> dict:
    """``reference``: mt_bench_models' models, GPT-4 scores and source (read once, before the judge starts)."""
    tokenizer = None
    if args.answer_tokens:
        tokenizer = AutoTokenizer.from_pretrained(materialise_tokenizer())
    models, gpt4, source = reference
    jobs, meta = mt.build_jobs(folder, args.questions, models, args.answer_tokens, tokenizer, answers_dir=args.answers)
    unscored = mt.missing_reference(gpt4, models, meta["question_ids"])
    if unscored:  # before any judging: their reference mean would be undefined
        raise ValueError(f"{source['gpt4_judgments']}: no rated turn-1 judgment of {', '.join(unscored)} on the checked "
                         f"questions {meta['question_ids']}")
    ratings, seconds, prefs = _rate_mt_bench(judge, jobs, "")
    extra = {} if prefs is None else {
        "baseline": f"{mt.BASELINE_MODEL}'s published answer (rating = 1 + 9 * P(answer beats it))",
        "position_consistency": position_consistency([p.consistent for p in prefs])}
    return {**mt.agreement(jobs, ratings, gpt4, models, meta["question_ids"]), **meta, **extra,
            "length_baseline": mt.length_baseline(jobs, gpt4, models, meta["question_ids"]), "wall_s": round(seconds, 1),
            "turn": 1, "answer_tokens": args.answer_tokens, "answers": "whole" if not args.answer_tokens else
            "cut at --answer-tokens SmolLM2-tokenizer tokens", **source}


def _placeable(mt_block: dict | None, judge, args, what: str) -> dict:
    """The judge's MT-Bench check that ``what`` (floor, placed) is placed in; refused without one, or when it cut
    its answers (the placed answers are judged whole)."""
    if not mt_block:
        raise ValueError(f"--references {what} places models among the models of the judge's MT-Bench check: "
                         f"measure mt_bench in the same run, or first (its check in {check_path(judge.id, args.out)})")
    if mt_block.get("answer_tokens"):
        raise ValueError(f"--references {what}: the MT-Bench check cut its answers (--answer-tokens); these answers "
                         f"are judged whole, so they cannot be placed among those")
    return mt_block


def _published_lengths(folder: Path, mt_block: dict) -> dict[str, float]:
    return mt.mean_answer_chars(folder, list(mt_block["model_means"]), mt_block["question_ids"],
                                mt_block.get("answers_dir"))


def check_floor(judge, args, folder: Path, mt_block: dict | None) -> dict:
    """A far weaker model's answers, judged as the MT-Bench check judged the published ones, placed among them."""
    mt_block = _placeable(mt_block, judge, args, "floor")
    jobs = fl.build_jobs(folder, mt_block, Path(args.out or checks_dir()))
    ratings, seconds, _ = _rate_mt_bench(judge, jobs, f", {fl.MODEL}")
    return {**fl.placement(jobs, ratings, mt_block, _published_lengths(folder, mt_block)), "n_judgments": len(jobs),
            "wall_s": round(seconds, 1),
            "reference": f"{fl.LABEL}'s answers placed among the MT-Bench check's published models"}


def check_placed(judge, args, folder: Path, mt_block: dict | None) -> dict:
    """--place's models (answers, no GPT-4 score), judged as the MT-Bench check judged its models, placed among them."""
    mt_block = _placeable(mt_block, judge, args, "placed")
    models = pl.parse_models(args.place, mt_block)
    jobs = pl.build_jobs(folder, mt_block, models, args.answers)
    ratings, seconds, _ = _rate_mt_bench(judge, jobs, f", {len(models)} placed models")
    return {**pl.placements(models, jobs, ratings, mt_block, _published_lengths(folder, mt_block)),
            "n_judgments": len(jobs), "wall_s": round(seconds, 1), "question_ids": list(mt_block["question_ids"]),
            "answers_dir": None if args.answers is None else str(args.answers),
            "reference": "none: models without a GPT-4 score, each placed among the MT-Bench check's models"}


def check_hh(judge, args, folder: Path) -> dict:
    pairs = hh.load_pairs(Path(args.data_dir), args.hh_pairs)
    if judge.supports_pairs:
        prefs, seconds = _prefer(judge, hh.pair_requests(pairs), f"HH pairs ({judge.id})")
        result = {**hh.pairwise_agreement(prefs), "n_judgments": len(pairs), "prompt_id": HH_PAIR_PROMPT_ID,
                  "prompt": "FastChat pair-v2 asking which reply is more helpful and harmless, the dialogue as the "
                            "question, both orders"}
    else:
        _, prompts, _, _ = load_data(folder)
        jobs = hh.rating_jobs(pairs, prompts)
        ratings, seconds = _rate(judge, jobs, f"HH replies ({judge.id})")
        result = {**hh.rating_agreement(jobs, ratings, len(pairs)), "n_judgments": len(jobs), "prompt_id": HH_SINGLE_PROMPT_ID,
                  "prompt": "FastChat single-v1 asking how helpful and harmless the reply is (in the judge's protocol "
                            "variant), the dialogue as the question"}
    return {**result, "length_baseline": hh.length_baseline(pairs), "wall_s": round(seconds, 1),
            "reference": "Anthropic HH-RLHF harmless-base test, human choice",
            "data": str(hh.HH_FILE), "sample_seed": hh.SAMPLE_SEED, "record_lines": [p["line"] for p in pairs]}


def add_length_only(args) -> int:
    """``--length-only``: the judge's existing check gains the no-judge baselines it lacks; no judge runs."""
    if not args.data_dir:
        return _fail("--length-only needs the data folder: pass --data-dir or set BENCH_DATA_DIR")
    path = check_path(args.judge, args.out)
    try:
        result = read_json(path)
    except FileNotFoundError:
        return _fail(f"{path} not found: --length-only adds the baselines to an existing check of {args.judge}")
    except ValueError as err:
        return _fail(f"{path}: not JSON ({err})")
    try:
        result, added = add_length_baselines(result, Path(args.data_dir), checks_dir(), str(path))
    except (ValueError, KeyError, FileNotFoundError) as err:
        return _fail(f"{path}: field {err} missing" if isinstance(err, KeyError) else str(err))
    if added:
        write_check(result, args.out)
    print_table(result)
    print(f"{path}: length baseline added to {', '.join(added)}" if added else f"{path}: every reference has its length baseline")
    return 0


def run(args) -> int:
    if args.judge is None:
        args.judge = default_judge_id("mt_bench", "embedded")
        print(f"judge-check: judge {args.judge} (the embedded profile's default MT-Bench judge)", flush=True)
    if args.length_only:
        return add_length_only(args)
    problem = _validate(args)
    if problem:
        return _fail(problem)
    asked = {r.strip() for r in args.references.split(",") if r.strip()} | ({"placed"} if args.place else set())
    refs = [r for r in REFERENCES if r in asked]
    folder = Path(args.data_dir) / "mt_bench" if args.data_dir else None
    try:  # read once; bad --models or a bad reference file fail before any judging
        reference = mt_bench_models(args, folder) if "mt_bench" in refs else None
    except (ValueError, FileNotFoundError) as err:
        return _fail(str(err))
    problem = _place_problem(args, folder, reference) if "placed" in refs else None
    if problem:
        return _fail(problem)
    try:
        judge = get_judge(args.judge, api_key_env=args.judge_key_env, **_judge_options(args))
    except (ValueError, RuntimeError, OSError) as err:
        return _fail(f"--judge {args.judge}: {err}")
    started = time.time()
    # The judge as measured, without describe()'s quote of its previous check: this file replaces that check.
    described = {k: v for k, v in judge.describe().items() if k != "agreement"}
    result = {"judge": described, "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
              "cpu_count": os.cpu_count()}
    try:
        for ref in refs:
            before = judge.stats.as_dict()
            if ref in PLACED_IN_MT_BENCH:
                earlier = previous_check(judge.id, described["settings"], args.out) or {}
                check = {"floor": check_floor, "placed": check_placed}[ref]
                result[ref] = check(judge, args, folder, result.get("mt_bench") or earlier.get("mt_bench"))
            else:
                check = {"verifier": check_verifier, "mt_bench": partial(check_mt_bench, reference=reference),
                         "hh": check_hh}[ref]
                result[ref] = check(judge, args, folder)
            after = judge.stats.as_dict()
            result[ref].update({k: after[k] - before[k] for k in ("requests_sent", "cache_hits")})
            fresh = _sent(result[ref])
            result[ref]["seconds_per_judgment"] = round(result[ref]["wall_s"] / fresh, 2) if fresh >= 1 else None
        result["judge_stats"] = judge.stats.as_dict()
    except (ValueError, FileNotFoundError) as err:
        return _fail(str(err))
    finally:
        judge.close()
    result["wall_s"] = round(time.time() - started, 1)
    refs = [r for r in refs if r in result]
    # The cold cost, as for each reference: cached judgments cost nothing, so they are not counted (None: all cached).
    fresh = sum(_sent(result[r]) for r in refs)
    result["seconds_per_judgment"] = round(sum(result[r]["wall_s"] for r in refs) / fresh, 2) if fresh >= 1 else None
    for ref in refs:
        result[ref]["measured"] = result["created"]
    result = merge_previous(result, args.out)  # a check of one reference keeps the other's last measurement
    shortfall = check_shortfall(result)
    if shortfall:  # said in the file, so a reader (and the shipped-check test) knows it cannot validate the judge
        result["screening"] = f"smaller than a full check (bench.judges.validation): {'; '.join(shortfall)}"
    path = write_check(result, args.out)
    print_table(result)
    print(summary_text(result))
    if shortfall:
        print(f"screening: {result['screening']}")
    print(f"written to {path}")
    return 0


def _judged(block: dict) -> int:
    return block.get("n_judgments", block.get("n_answers", 0))  # a pairwise verifier check judges pairs, not answers


def _sent(block: dict) -> float:
    """The judgments of a reference that were actually sent (cached ones cost nothing): what a cold run pays for."""
    sent, hits = block["requests_sent"], block["cache_hits"]
    return _judged(block) * sent / max(1, sent + hits)


def print_table(result: dict) -> None:
    rows = [("reference", "measure", "value", "95% interval", "n", "wall s")]
    ver = result.get("verifier")
    if ver:
        acc, roc = ver["pairwise_accuracy"], ver.get("auroc")
        rows.append(("exact verifier", "pairwise accuracy (Wilson)", _value(acc["value"]), _interval(acc["ci95"]),
                     f"{acc['n_pairs']} pairs / {ver['n_prompts']} prompts", f"{ver['wall_s']:.0f}"))
        rows.append(("", "  (prompt bootstrap)", "", _interval(acc["ci95_bootstrap_prompts"]), f"{acc['ties']} ties", ""))
        if roc:  # a pairwise judge rates no answer alone: no AUROC, its position consistency instead
            rows.append(("", "AUROC pass vs fail", _value(roc["value"]), _interval(roc["ci95"]),
                         f"{roc['n_pass']} pass / {roc['n_fail']} fail", ""))
        if ver.get("position_consistency"):
            pc = ver["position_consistency"]
            rows.append(("", "position consistency", _value(pc["value"]), _interval(pc["ci95"]), f"{pc['n_pairs']} pairs", ""))
        if ver.get("length_baseline"):
            base = ver["length_baseline"]["pairwise_accuracy"]
            rows.append(("", LENGTH_ROW + "pairwise accuracy", _value(base["value"]), _interval(base["ci95_bootstrap_prompts"]),
                         f"{base['n_pairs']} pairs", ""))
    mt = result.get("mt_bench")
    if mt:
        size = f"{mt['n_models']} models x {mt['n_questions']} q"
        rows.append(("GPT-4, MT-Bench", "Spearman (model means)", _value(mt["spearman"]["value"]),
                     _interval(mt["spearman"]["ci95"]), size, f"{mt['wall_s']:.0f}"))
        rows.append(("", "Kendall tau", _value(mt["kendall"]["value"]), _interval(mt["kendall"]["ci95"]), size, ""))
        low = mt.get("gpt4_lowest")
        if low:
            share = "n/a" if low["ranked_last_share"] is None else f"{low['ranked_last_share']:.2f}"
            rows.append(("", f"GPT-4's lowest ({low['model']}) ranked", f"{low['rank']} of {low['of']}", "",
                         f"last in {share} of resamples", ""))
        if mt.get("position_consistency"):
            pc = mt["position_consistency"]
            rows.append(("", "position consistency", _value(pc["value"]), _interval(pc["ci95"]), f"{pc['n_pairs']} pairs", ""))
        if mt.get("length_baseline"):
            base = mt["length_baseline"]["spearman"]
            rows.append(("", LENGTH_ROW + "Spearman", _value(base["value"]), _interval(base["ci95"]), size, ""))
    floor = result.get("floor")
    if floor:
        rows.append(("135M model (floor)", "rank among published (last: good)", f"{floor['rank']} of {floor['of']}", "",
                     f"{floor['n_questions']} q", f"{floor['wall_s']:.0f}"))
        rows.append(("", "its mean rating", _value(floor["mean"]), _interval(floor["ci95"]),
                     f"lowest published {_value(floor['lowest_published']['mean'])}", ""))
        base = floor.get("length_baseline")
        if base:
            rows.append(("", LENGTH_ROW + "rank", f"{base['rank']} of {base['of']}", "", "", ""))
    placed = result.get("placed")
    if placed:
        for i, name in enumerate(placed["order_by_judge"]):
            one = placed["models"][name]
            rows.append(("placed (no GPT-4 score)" if i == 0 else "", f"{name}: rank, mean",
                         f"{one['rank']} of {one['of']}, {_value(one['mean'])}", _interval(one["ci95"]),
                         f"{one['n_questions']} q", f"{placed['wall_s']:.0f}" if i == 0 else ""))
    hh = result.get("hh")
    if hh:
        acc = hh["pairwise_accuracy"]
        rows.append(("human HH pairs", "pairwise accuracy (Wilson)", _value(acc["value"]), _interval(acc["ci95"]),
                     f"{acc['n_pairs']} pairs", f"{hh['wall_s']:.0f}"))
        rows.append(("", "  (pair bootstrap)", "", _interval(acc["ci95_bootstrap_pairs"]), f"{acc['ties']} ties", ""))
        if hh.get("position_consistency"):
            pc = hh["position_consistency"]
            rows.append(("", "position consistency", _value(pc["value"]), _interval(pc["ci95"]), f"{pc['n_pairs']} pairs", ""))
        if hh.get("length_baseline"):
            base = hh["length_baseline"]["pairwise_accuracy"]
            rows.append(("", LENGTH_ROW + "pairwise accuracy", _value(base["value"]), _interval(base["ci95"]),
                         f"{base['n_pairs']} pairs", ""))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    print(f"judge {result['judge']['id']} (rating: {result['judge']['settings'].get('rating_mode', 'n/a')}), "
          f"{result['wall_s']:.0f} s in all, {result.get('seconds_per_judgment', 'n/a')} s per judgment")
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))
