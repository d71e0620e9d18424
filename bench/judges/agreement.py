"""Where `bench judge-check` keeps a judge's measured agreement, and the short summary reports attach to it.

``$BENCH_CACHE_DIR/judge_checks/<safe judge id>.json`` (strict JSON, written to a temporary file and renamed).
``load_agreement(judge_id)`` returns a short dict for the details of every judge-based metric and for report
footnotes, or None when the judge was never checked (or was checked with other settings, when given).

A check made on this machine comes first; otherwise the one shipped in ``bench/judges/measured/`` (made by the
maintainers with `bench judge-check` on the same pinned GGUF, its sizes recorded in the file and quoted in the
summary: a fresh clone's reports quote the agreement without spending the half hour a check takes). The summary
says which it is.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from bench.io import write_json
from bench.models import cache_dir

from .files import judge_file_stem

# A check's references, in the order `bench judge-check` runs them (the floor and the --place models are placed in
# the MT-Bench check).
REFERENCES = ("verifier", "mt_bench", "floor", "placed", "hh")
PLACED_IN_MT_BENCH = ("floor", "placed")
# Settings that change what a judge says: a check made under others does not describe it.
IDENTITY_SETTINGS = ("model", "model_sha256", "rating_mode", "protocol", "prompt_id", "prefix", "top_logprobs", "grammar",
                     "temperature")
# Checks made before protocols were named lack these; their rating mode (greedy / expected) names the protocol.
LATER_SETTINGS = ("protocol", "prompt_id")


def same_judge(stored: dict, settings: dict) -> bool:
    return all(stored.get(k) == settings.get(k) for k in IDENTITY_SETTINGS if not (k in LATER_SETTINGS and k not in stored))


def _scoring_id(judge: dict) -> str:
    name = str(judge.get("id") or judge.get("name") or "")
    # a reward model is named by its cache folder, whose parent differs between machines; its content key does not
    return "reward:" + name.rsplit("/", 1)[-1] if name.startswith("reward:") else name


def same_scoring_judge(a, b) -> bool:
    """Whether two results' ``details["judge"]`` name one judge: the same id and the same identity settings (both ways:
    a setting only one side records counts), or, for a judge named by a string (the exact verifier), the same name."""
    if isinstance(a, dict) and isinstance(b, dict):
        sa, sb = a.get("settings") or {}, b.get("settings") or {}
        return _scoring_id(a) == _scoring_id(b) and same_judge(sa, sb) and same_judge(sb, sa)
    return a == b


SHIPPED_DIR = Path(__file__).parent / "measured"


def checks_dir() -> Path:
    return cache_dir() / "judge_checks"


def check_path(judge_id: str, folder: Path | None = None) -> Path:
    return (folder or checks_dir()) / f"{judge_file_stem(judge_id)}.json"


def _finite(obj):
    """Round floats, and refuse NaN / Infinity: the file is strict JSON."""
    if isinstance(obj, float):
        if not math.isfinite(obj):
            raise ValueError("judge check results must be finite numbers")
        return round(obj, 4)
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def write_check(result: dict, folder: Path | None = None) -> Path:
    return write_json(check_path(result["judge"]["id"], folder), _finite(result))


def _interval(ci) -> str:
    return "[n/a]" if not ci else f"[{ci[0]:.2f}, {ci[1]:.2f}]"


def _value(v) -> str:
    return "n/a" if v is None else f"{v:.2f}"


def _accuracy_interval(acc: dict) -> tuple[list | None, str]:
    """Pairs of answers to one prompt are not independent: the interval reports quote resamples prompts
    (``ci95_bootstrap_prompts``); a check without it has only the Wilson interval over pairs, said so."""
    if "ci95_bootstrap_prompts" in acc:
        return acc["ci95_bootstrap_prompts"], "prompts resampled"
    return acc.get("ci95"), "Wilson over pairs, as if independent"


LENGTH_TEXT = "no judge, answer length alone"  # the baseline a judge must beat, quoted beside its number


def _length_text(block: dict, measure: str, interval_key: str = "ci95") -> str:
    base = (block.get("length_baseline") or {}).get(measure)
    return f" ({LENGTH_TEXT}: {_value(base['value'])} {_interval(base.get(interval_key))})" if base else ""


def summary_text(result: dict) -> str:
    parts = []
    mt = result.get("mt_bench")
    if mt:
        parts.append(f"vs GPT-4 on MT-Bench: Spearman {_value(mt['spearman']['value'])} {_interval(mt['spearman']['ci95'])}"
                     f"{_length_text(mt, 'spearman')}, "
                     f"Kendall {_value(mt['kendall']['value'])} {_interval(mt['kendall']['ci95'])}, "
                     f"n={mt['n_models']} models x {mt['n_questions']} questions (turn 1"
                     + (f", answers cut at {mt['answer_tokens']} tokens)" if mt.get("answer_tokens") else ")")
                     + (f", position consistency {_value(mt['position_consistency']['value'])}"
                        if mt.get("position_consistency") else "")
                     + (f", GPT-4's lowest ({mt['gpt4_lowest']['model']}) ranked {mt['gpt4_lowest']['rank']} of "
                        f"{mt['gpt4_lowest']['of']}" if mt.get("gpt4_lowest") else ""))
    hh = result.get("hh")
    if hh:
        acc = hh["pairwise_accuracy"]
        parts.append(f"vs human HH preferences: pairwise accuracy {_value(acc['value'])} {_interval(acc['ci95'])}"
                     f"{_length_text(hh, 'pairwise_accuracy')}, n={acc['n_pairs']} pairs (chance 0.5)"
                     + (f", position consistency {_value(hh['position_consistency']['value'])}"
                        if hh.get("position_consistency") else ""))
    floor = result.get("floor")
    if floor:
        parts.append(f"a 135M model's answers (SmolLM2-135M-Instruct, taken as worse than all) ranked "
                     f"{floor['rank']} of {floor['of']} (mean {_value(floor['mean'])} {_interval(floor['ci95'])} against "
                     f"the lowest published {_value(floor['lowest_published']['mean'])}, {floor['n_questions']} questions)")
    ver = result.get("verifier")
    if ver:
        acc, roc = ver["pairwise_accuracy"], ver.get("auroc")
        ci, how = _accuracy_interval(acc)
        text = (f"vs exact verifier: pairwise accuracy {_value(acc['value'])} {_interval(ci)}, {how}"
                f"{_length_text(ver, 'pairwise_accuracy', 'ci95_bootstrap_prompts')}, "
                f"n={acc['n_pairs']} pairs on {ver['n_prompts']} prompts")
        if roc:  # a pairwise judge rates no answer alone: it has no AUROC
            text += (f"; AUROC {_value(roc['value'])} {_interval(roc['ci95'])}, prompts resampled, "
                     f"n={roc['n_pass']} pass / {roc['n_fail']} fail answers, {ver['n_prompts']} prompts")
        if ver.get("position_consistency"):
            text += f", position consistency {_value(ver['position_consistency']['value'])}"
        parts.append(text)
    return f"{result['judge']['id']} " + "; ".join(parts) if parts else f"{result['judge']['id']}: no reference measured"


def summarise(result: dict, path: Path | None = None) -> dict:
    mt, ver, hh = result.get("mt_bench"), result.get("verifier"), result.get("hh")
    settings = result["judge"].get("settings", {})
    out = {"judge": result["judge"]["id"], "measured": result.get("created"), "text": summary_text(result),
           "protocol": settings.get("protocol") or settings.get("rating_mode")}
    if path:
        out["file"] = str(path)
    if mt:
        out["mt_bench_gpt4"] = {k: mt[k] for k in ("n_models", "n_questions")} | {
            "spearman": mt["spearman"]["value"], "spearman_ci95": mt["spearman"]["ci95"],
            "kendall": mt["kendall"]["value"], "kendall_ci95": mt["kendall"]["ci95"]}
        if mt.get("position_consistency"):
            out["mt_bench_gpt4"]["position_consistency"] = mt["position_consistency"]["value"]
        if mt.get("gpt4_lowest"):
            out["mt_bench_gpt4"]["gpt4_lowest"] = {k: mt["gpt4_lowest"][k] for k in ("model", "rank", "of", "ranked_last")}
    floor = result.get("floor")
    if floor:
        out["floor"] = {k: floor[k] for k in ("rank", "of", "ranked_last", "mean", "ci95", "n_questions")}
    if hh:
        out["hh"] = {"pairwise_accuracy": hh["pairwise_accuracy"]["value"], "pairwise_accuracy_ci95": hh["pairwise_accuracy"]["ci95"],
                     "n_pairs": hh["pairwise_accuracy"]["n_pairs"]}
        if hh.get("position_consistency"):
            out["hh"]["position_consistency"] = hh["position_consistency"]["value"]
    if ver:
        ci, how = _accuracy_interval(ver["pairwise_accuracy"])
        out["verifier"] = {"pairwise_accuracy": ver["pairwise_accuracy"]["value"],
                           "pairwise_accuracy_ci95": ci, "pairwise_accuracy_ci95_method": how,
                           "n_pairs": ver["pairwise_accuracy"]["n_pairs"], "n_prompts": ver["n_prompts"]}
        if ver.get("auroc"):
            out["verifier"].update(auroc=ver["auroc"]["value"], auroc_ci95=ver["auroc"]["ci95"])
        if ver.get("position_consistency"):
            out["verifier"]["position_consistency"] = ver["position_consistency"]["value"]
    if "seconds_per_judgment" in result:
        out["seconds_per_judgment"] = result["seconds_per_judgment"]
    return out


def previous_check(judge_id: str, settings: dict, folder: Path | None = None) -> dict | None:
    """The earlier check of this judge in ``folder`` (default: this machine's checks), if made under the same
    identity settings; else None."""
    try:
        old = json.loads(check_path(judge_id, folder).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(old, dict) or not same_judge(old.get("judge", {}).get("settings", {}), settings):
        return None
    return old


def merge_previous(result: dict, folder: Path | None = None) -> dict:
    """Keep the references of an earlier check of the same judge (same identity settings) that this run left out.
    A placement (the floor, --place) is kept only with the MT-Bench check it was placed in (not when this run
    measured MT-Bench)."""
    old = previous_check(result["judge"]["id"], result["judge"]["settings"], folder)
    if old is None:
        return result
    merged = dict(result)
    for ref in REFERENCES:
        if ref in PLACED_IN_MT_BENCH and "mt_bench" in result:
            continue
        if ref not in merged and ref in old:
            merged[ref] = {**old[ref], "measured": old[ref].get("measured", old.get("created"))}
    return merged


def load_agreement(judge_id: str, settings: dict | None = None, folder: Path | None = None) -> dict | None:
    """The judge's last check, summarised (see summarise); None if unchecked, unreadable, or checked under
    other ``settings`` (compared on IDENTITY_SETTINGS, when given). Without ``folder``: this machine's checks,
    then the shipped ones."""
    for where in ([folder] if folder else [checks_dir(), SHIPPED_DIR]):
        path = check_path(judge_id, where)
        try:
            result = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(result, dict) or result.get("judge", {}).get("id") != judge_id:
            continue
        if settings is not None:
            if not same_judge(result["judge"].get("settings", {}), settings):
                continue
        summary = summarise(result, path)
        if where == SHIPPED_DIR:
            summary["file"] = f"bench/judges/measured/{path.name}"
            summary["source"] = "measured by the maintainers (shipped with adpa-bench)"
        return summary
    return None
