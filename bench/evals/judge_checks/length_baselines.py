"""The no-judge baselines of an existing judge check (`bench judge-check --length-only`).

A check made before `bench judge-check` recorded the baseline a judge must beat (each answer's length as its rating)
lacks it. The baseline needs no judge: it is a function of the check's own answers, so it is recomputed here from the
data, on the questions, models, HH pairs and verifier prompts the check recorded, by the same functions a full check
calls. Each reference's selection is rebuilt from the data and compared with the recorded one first: if the data
gives other questions, pairs or answers than the check judged, the baseline would describe other answers, and it is
refused. The judge's own numbers are not touched.
"""
from __future__ import annotations

import datetime as _dt
from pathlib import Path

from bench.datasets import builtin

from . import hh
from . import mt_bench as mt
from . import verifier as ver
from .gpt4_judgments import judged_scores

ADDED_BY = "bench judge-check --length-only (recomputed from the data; the judge's numbers untouched)"


def _differs(where: str, field: str, recorded, rebuilt) -> ValueError:
    return ValueError(f"{where}: field {field}: the data gives {rebuilt!r}, the check recorded {recorded!r}; "
                      "its length baseline would describe other answers")


def mt_bench(block: dict, folder: Path, where: str) -> dict:
    if block.get("answer_tokens"):
        raise ValueError(f"{where}: field mt_bench.answer_tokens: a check of cut answers ({block['answer_tokens']} "
                         "tokens) is out of date; run the check again instead")
    models = list(block["model_means"])
    # the check's own reference: the published scores, or the per-answer judgments it recorded
    gpt4 = judged_scores(Path(block["gpt4_judgments"]))[0] if block.get("gpt4_judgments") else mt.published_scores(folder)
    jobs, meta = mt.build_jobs(folder, block["n_questions"], models, answers_dir=block.get("answers_dir"))
    if meta["question_ids"] != block["question_ids"]:
        raise _differs(where, "mt_bench.question_ids", block["question_ids"], meta["question_ids"])
    return mt.length_baseline(jobs, gpt4, models, meta["question_ids"])


def hh_pairs(block: dict, data_dir: Path, where: str) -> dict:
    pairs = hh.load_pairs(data_dir, len(block["record_lines"]))
    lines = [p["line"] for p in pairs]
    if lines != block["record_lines"]:
        raise _differs(where, "hh.record_lines", block["record_lines"][:5], lines[:5])
    return hh.length_baseline(pairs)


def verifier(block: dict, folder: Path, answers_root: Path, where: str) -> dict:
    # The fewest leading prompts with at least as many pairs as the check had are its prompts (verifier.choose_prompts).
    accuracy = block["pairwise_accuracy"]
    n_pairs = accuracy["n_pairs"] + accuracy.get("n_pairs_unrated", 0)
    items, per_prompt = ver.answered_prompts(list(builtin.test_prompts()), n_pairs, answers_root)
    rebuilt = ver.answer_counts(per_prompt)
    for field in ("n_prompts", "n_answers", "answer_sources"):
        if rebuilt[field] != block[field]:
            raise _differs(where, f"verifier.{field}", block[field], rebuilt[field])
    return ver.length_baseline(per_prompt, ver.build_jobs(items, per_prompt, folder))


def add_length_baselines(result: dict, data_dir: Path, answers_root: Path, where: str) -> tuple[dict, list[str]]:
    """``result`` (a check file's content, read from ``where``) with a ``length_baseline`` in each reference that lacks
    one, and the names of the references given one. ``answers_root``: the verifier's cache of model answers."""
    folder = Path(data_dir) / "mt_bench"
    stamp = {"added": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), "added_by": ADDED_BY}
    out, added = dict(result), []
    for ref in ("mt_bench", "hh", "verifier"):
        block = result.get(ref)
        if not block or block.get("length_baseline"):
            continue
        if ref == "mt_bench":
            baseline = mt_bench(block, folder, where)
        elif ref == "hh":
            baseline = hh_pairs(block, Path(data_dir), where)
        else:
            baseline = verifier(block, folder, answers_root, where)
        out[ref] = {**block, "length_baseline": {**baseline, **stamp}}
        added.append(ref)
    return out, added
