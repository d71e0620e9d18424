"""`alpaca_eval`: AlpacaEval 2 against the GPT-4 Turbo (1106-preview) reference outputs.

The model answers the 805 instructions of ``<data_dir>/alpaca_eval/gpt4_1106_preview_outputs.json``
(the first ``--limit`` of them, in file order) with its chat template, greedily. Outputs go to
``<out_dir>/alpaca_eval/model_outputs.json`` in alpaca_eval's ``[{instruction, output, generator}]`` format.

Annotation: a local judge only with the pairwise protocol (``local-<model>:pairwise``: both presentation orders,
P(label) from log-probabilities, averaged, position consistency in ``details``); any other local judge's win rate is
withheld (a one-order judge that always picks one position scores about 50% against any reference). For an
``openai:<model>@<url>`` judge through
alpaca_eval's own ``PairwiseAnnotator`` with an annotator config of ours (bench/judges/configs/<name>/),
``fn_completions: openai_completions`` pointed at the judge's base URL; alpaca_eval's annotation cache
lives in the judge cache folder, so a rerun sends no requests. For a judge that only compares pairs
itself (``reward:<model>``), annotation goes through that judge with alpaca_eval's pair format and
output-order randomisation left out; ``details.annotation_path`` says which path ran.
Win rate and length-controlled win rate: bench.evals.alpaca_metrics (alpaca_eval's metric functions); their
intervals are normal intervals from alpaca_eval's own standard errors. Items are instructions scored 100 (the
model's answer won), 50 (tie) or 0, whose mean is the win rate: two models are compared on the same instructions.
The outputs are exported under the run's own model id as alpaca_eval's ``generator``.
Options: max_new_tokens (1024), batch_size (8), model_id; ``alpaca_eval.<name>`` overrides ``<name>``.
"""
from __future__ import annotations

import json
import logging
import math
import os
import time
from pathlib import Path

from methods.generate import generate_text

from bench import stats
from bench.datasets import data_folder
from bench.io import write_json
from bench.judges import PairRequest, judge_cache_dir, judge_for
from bench.judges.agreement_stats import position_consistency
from bench.judges.local import LocalJudge
from bench.judges.openai_compat import OpenAICompatJudge
from bench.results.schema import CONTINUOUS

from . import register
from .alpaca_metrics import leaderboard_metrics
from .base import Benchmark, BenchmarkResult, EvalContext, MetricResult, Sample
from .provenance import chat_template_id, file_version, require_file

BENCHMARK = "alpaca_eval"
REFERENCE_FILE = "gpt4_1106_preview_outputs.json"
CONFIGS_DIR = Path(__file__).resolve().parents[1] / "judges" / "configs"
LOCAL_KEY = "sk-local-no-key"  # llama.cpp's server checks no key, but the OpenAI client wants one


def load_reference(data_dir: Path | None) -> tuple[list[dict], Path]:
    path = require_file(data_folder(data_dir, "alpaca_eval", "AlpacaEval") / REFERENCE_FILE, "AlpacaEval reference outputs")
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not JSON ({err})") from None
    if not isinstance(rows, list):
        raise ValueError(f"{path}: expected a list of {{instruction, output, generator}} records")
    for i, row in enumerate(rows):
        for field in ("instruction", "output", "generator"):
            if not isinstance(row, dict) or not isinstance(row.get(field), str):
                raise ValueError(f"{path}: record {i}: field {field!r} is missing or not a string")
    return rows, path


def generate_outputs(ctx: EvalContext, reference: list[dict], model_id: str, generation: dict) -> list[dict]:
    model, tokenizer = ctx.model_and_tokenizer()
    chats = [[{"role": "user", "content": r["instruction"]}] for r in reference]
    with ctx.progress("AlpacaEval outputs", len(chats), "instructions") as task:
        texts = generate_text(model, tokenizer, chats, max_new_tokens=generation["max_new_tokens"],
                              batch_size=generation["batch_size"], temperature=0.0, seed=ctx.seed,
                              progress=task.advance)
    return [{"dataset": r.get("dataset"), "instruction": r["instruction"], "output": text, "generator": model_id}
            for r, text in zip(reference, texts)]


def resolved_annotator_config(judge, out_dir: Path) -> tuple[Path, str]:
    """Our config for this judge with model name, base URL and prompt path filled in (never the key)."""
    import yaml
    from alpaca_eval import constants

    name = "local_smollm2" if isinstance(judge, LocalJudge) else "openai_compatible"
    config = yaml.safe_load((CONFIGS_DIR / name / "configs.yaml").read_text())[name]
    base_url = judge.ensure_started() if isinstance(judge, LocalJudge) else judge.base_url
    kwargs = config["completions_kwargs"]
    kwargs["model_name"] = judge.model
    kwargs["openai_api_base"] = base_url
    # Keep alpaca_eval from reading a client config of the user's (which could point elsewhere).
    kwargs["client_config_path"] = str(out_dir / "no-client-config.yaml")
    template = Path(config["prompt_template"])
    if not template.is_absolute():
        ours = CONFIGS_DIR / name / template
        template = ours if ours.is_file() else Path(constants.EVALUATORS_CONFIG_DIR) / template
    config["prompt_template"] = str(template)
    target = out_dir / "annotator" / name / "configs.yaml"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump({name: config}, sort_keys=False))
    return target, name


def _float_preferences(annotator) -> None:
    """pandas reads a cache whose preferences are all whole (1.0 / 2.0) as int64, and pandas 3 then refuses
    alpaca_eval's 1.5 (its tie value, written into that column on every call): keep the column float."""
    cached = getattr(annotator, "df_annotations", None)
    if cached is not None and annotator.annotation_key in cached.columns:
        cached[annotator.annotation_key] = cached[annotator.annotation_key].astype(float)


def annotate_with_alpaca_eval(judge, reference: list[dict], outputs: list[dict], out_dir: Path) -> tuple[list[dict], dict]:
    import yaml

    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    from alpaca_eval.annotators import PairwiseAnnotator

    # alpaca_eval calls logging.basicConfig(level=INFO) when imported: its chatter would reach the terminal. Keep
    # the root logger as it was (the run log still gets alpaca_eval's warnings through the run's own handler).
    root.setLevel(level)
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)

    config_path, name = resolved_annotator_config(judge, out_dir)
    # alpaca_eval caches annotations by (instruction, outputs, annotator); keep that cache beside the judge's own
    # (eval.options.judge_cache_dir when set: a run that keeps its judgments in its own folder keeps these there too).
    cache_key = judge.id.replace("/", "_").replace(":", "_") + (f"_{judge.settings['model_sha256']}" if "model_sha256" in judge.settings else "")
    judge_cache = getattr(judge, "cache", None)
    caching_path = (judge_cache.path.parent if judge_cache else judge_cache_dir()) / f"alpaca_eval_{name}_{cache_key}.json"
    caching_path.parent.mkdir(parents=True, exist_ok=True)
    annotator = PairwiseAnnotator(annotators_config=str(config_path), caching_path=str(caching_path))
    _float_preferences(annotator)
    # A local OpenAI-compatible server (vLLM, llama.cpp) checks no key, but alpaca_eval's client refuses to start
    # without one: with no key in the environment, a placeholder (a server that does check answers 401, reported).
    key = LOCAL_KEY if isinstance(judge, LocalJudge) else (os.environ.get(judge.api_key_env or "") or LOCAL_KEY)
    info = {"annotation_path": "alpaca_eval PairwiseAnnotator (fn_completions: openai_completions)",
            "annotator_config": str(config_path), "annotator_name": name, "annotation_cache": str(caching_path),
            "annotator_seed": annotator.seed,
            "annotator_settings": yaml.safe_load(config_path.read_text())[name],
            "judge_request_stats": "requests go through alpaca_eval's openai_completions, so the judge's own request stats stay 0"}
    try:
        annotations = annotator.annotate_head2head(outputs_1=reference, outputs_2=outputs, is_ordered=True,
                                                   openai_api_keys=[key] if key else None)
    except Exception as err:  # noqa: BLE001 - a judge failure is reported, never fatal to the whole run
        logging.exception("AlpacaEval annotation failed")
        info["annotation_error"] = f"{type(err).__name__}: {err}"
        annotations = [{"instruction": r["instruction"], "output_1": r["output"], "output_2": o["output"],
                        "generator_1": r["generator"], "generator_2": o["generator"], "preference": None}
                       for r, o in zip(reference, outputs)]
    return annotations, info


def annotate_with_pair_judge(ctx: EvalContext, judge, reference: list[dict], outputs: list[dict]) -> tuple[list[dict], dict]:
    with ctx.progress(f"AlpacaEval pairs ({judge.id})", len(outputs), "pairs") as task:
        prefs = judge.prefer([PairRequest(r["instruction"], r["output"], o["output"]) for r, o in zip(reference, outputs)],
                             progress=task.advance)
    annotations = [{"instruction": r["instruction"], "output_1": r["output"], "generator_1": r["generator"],
                    "output_2": o["output"], "generator_2": o["generator"], "annotator": judge.id,
                    "preference": p.preference, "raw_completion": p.raw, **({"error": p.error} if p.error else {}),
                    **({"position_consistent": p.consistent} if p.consistent is not None else {})}
                   for r, o, p in zip(reference, outputs, prefs)]
    info = {"annotation_path": f"bench judge {judge.id}.prefer + alpaca_eval metric functions"}
    flags = [p.consistent for p in prefs if p.consistent is not None]
    if flags:  # a judge that asks both orders: how often they agree (a judge that always picks one position: 0)
        # The same block (value, n_pairs, Wilson ci95) as bench judge-check writes for its references.
        info["position_consistency"] = {**position_consistency(flags),
                                        "meaning": "share of pairs where both presentation orders prefer the same answer"}
    return annotations, info


def withheld_annotations(judge, reference: list[dict], outputs: list[dict]) -> tuple[list[dict], dict]:
    """No win rate from a local judge that reads one presentation order: a judge that always prefers one position
    scores about 50% against any reference (alpaca_eval randomises the order), so its number would mean nothing."""
    base = judge.id.split(":")[0]
    reason = (f"withheld: local judge {judge.id} reads one presentation order and has no position consistency "
              f"measured; use {base}:pairwise (both orders, position consistency reported)")
    annotations = [{"instruction": r["instruction"], "output_1": r["output"], "generator_1": r["generator"],
                    "output_2": o["output"], "generator_2": o["generator"], "preference": None}
                   for r, o in zip(reference, outputs)]
    return annotations, {"annotation_path": "none", "annotation_withheld": reason}


def _annotate(ctx: EvalContext, reference, outputs, out: Path):
    judge, reason = judge_for(ctx, BENCHMARK)
    if isinstance(judge, LocalJudge) and not judge.supports_pairs:
        annotations, info = withheld_annotations(judge, reference, outputs)
    elif isinstance(judge, LocalJudge) or (judge.supports_pairs and not isinstance(judge, OpenAICompatJudge)):
        annotations, info = annotate_with_pair_judge(ctx, judge, reference, outputs)
    elif isinstance(judge, OpenAICompatJudge):
        annotations, info = annotate_with_alpaca_eval(judge, reference, outputs, out)
    else:
        raise ValueError(f"judge {judge.id!r} cannot compare two answers; AlpacaEval needs a pairwise judge "
                         "(local-<model>:pairwise, openai:<model>@<url> or reward:<model>)")
    annotations = [{k: (None if isinstance(v, float) and v != v else v) for k, v in a.items()} for a in annotations]
    judge_desc = {**judge.describe(), "selected": reason, "stats": judge.stats.as_dict()}
    if "annotator_settings" in info:  # decoding is the annotator config's, not the judge's rating settings
        judge_desc["settings"] = {k: v for k, v in judge_desc["settings"].items()
                                  if k not in ("grammar", "max_tokens", "temperature", "output_constraint")}
        judge_desc["annotator_settings"] = info.pop("annotator_settings")
    return annotations, info, judge_desc


def win_scores(annotations: list[dict]) -> dict[str, float]:
    """Instruction index -> 100 when the model's output (output_2) won, 50 for a tie, 0 when the reference won;
    unannotated instructions are left out (alpaca_eval's win rate is over annotated ones too)."""
    return {str(i): (float(a["preference"]) - 1.0) * 100.0 for i, a in enumerate(annotations)
            if isinstance(a.get("preference"), (int, float)) and 1.0 <= a["preference"] <= 2.0}


def _rows(metrics: dict, annotations: list[dict], details: dict) -> list[MetricResult]:
    n_items, n_failed = len(annotations), metrics["n_unannotated"]
    nothing = f"no annotation succeeded ({n_failed} of {n_items} failed)" if metrics["n_total"] == 0 else None
    nothing = details.get("annotation_withheld") or nothing

    def row(name, value, se, reason=None, items=None):
        reason = nothing or reason
        if se is not None and not math.isfinite(se):  # one annotated item: alpaca_eval's standard error is NaN
            se = None  # the interval then comes from the item scores (bench.evals.api.with_interval)
        # a rate: Wilson over the items when they are known (ties count half), else normal on the logit scale from
        # alpaca_eval's standard error; both stay inside [0, 100] (a normal interval gave [-9.6, 29.6])
        interval = None if reason else (stats.win_rate_interval(list(items.values())) if items
                                        else stats.logit_interval(value, se) if se is not None else None)
        return MetricResult(BENCHMARK, name, None if reason else value, n_items - n_failed, n_failed,
                            None if reason else se, reason, details, interval=interval,
                            item_scores=None if reason else items, score_kind=CONTINUOUS if items and not reason else None)

    rows = [row("win_rate", metrics["win_rate"], metrics["standard_error"], items=win_scores(annotations))]
    lc, lc_se = metrics["length_controlled_winrate"], metrics["lc_standard_error"]
    if metrics["lc_method"] == "length_controlled_v1" or lc is None:
        rows.append(row("lc_win_rate", lc, lc_se, None if lc is not None else metrics["lc_note"]))
    else:  # the fallback GLM: the official name stays empty and says why; the fallback has its own name
        rows.append(row("lc_win_rate", None, None, f"df_gamed.csv (AlpacaEval instruction difficulty) not available "
                                                   f"offline; see lc_win_rate_fallback ({metrics['lc_method']} GLM)"))
        rows.append(row("lc_win_rate_fallback", lc, lc_se))
    return rows


def _samples(annotations: list[dict]) -> list[Sample]:
    out = []
    for i, a in enumerate(annotations):
        score = win_scores([a]).get("0")
        verdict = {100.0: "the model", 50.0: "neither (a tie)", 0.0: "the reference"}.get(score)
        rationale = f"judge preferred {verdict} (raw completion {a.get('preference_raw_completion', a.get('raw_completion'))!r})" \
            if verdict else "no judgement"
        out.append(Sample(BENCHMARK, str(i), a.get("instruction", ""), a.get("output_2", ""),
                          None if score is None else score / 100.0, rationale))
    return out


def run(ctx: EvalContext) -> BenchmarkResult:
    started = time.time()
    reference, ref_path = load_reference(ctx.data_dir)
    if ctx.limit:
        reference = reference[: ctx.limit]
    out = Path(ctx.out_dir) / BENCHMARK
    generation = {"max_new_tokens": int(ctx.option(BENCHMARK, "max_new_tokens", 1024)),
                  "batch_size": int(ctx.option(BENCHMARK, "batch_size", 8)), "temperature": 0.0, "sampling": "greedy"}
    outputs = generate_outputs(ctx, reference, ctx.model_id, generation)
    write_json(out / "model_outputs.json", [{k: v for k, v in o.items() if k != "dataset"} for o in outputs])
    gen_s = time.time() - started
    annotations, info, judge_desc = _annotate(ctx, reference, outputs, out)
    write_json(out / "annotations.json", annotations)
    metrics = leaderboard_metrics(annotations, ctx.data_dir)
    _, tokenizer = ctx.model_and_tokenizer()
    details = {"benchmark": "AlpacaEval 2.0 (reference: gpt4_1106_preview)", "dataset": "AlpacaEval",
               "data_version": file_version(ref_path), "judge": judge_desc, **info, "generation": generation,
               "chat_template": chat_template_id(tokenizer), "seed": ctx.seed, "model_id": ctx.model_id,
               "leaderboard": metrics,
               "timings_s": {"generate": round(gen_s, 1), "annotate": round(time.time() - started - gen_s, 1)}}
    return BenchmarkResult(BENCHMARK, _rows(metrics, annotations, details), _samples(annotations),
                           {"outputs": str(out / "model_outputs.json"), "annotations": str(out / "annotations.json")})


register(Benchmark(BENCHMARK, "AlpacaEval 2: win rate and length-controlled win rate against GPT-4 Turbo (alpaca_eval)", run,
                   ("max_new_tokens", "batch_size"), data="alpaca_eval"))
