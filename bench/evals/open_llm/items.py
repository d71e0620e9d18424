"""Per-document scores and report samples, read from lm-eval's logged samples (``log_samples=True``).

Each logged sample carries its ``doc_id``, the filter it was scored under and the value of every metric of the
task for that one document: these are lm-eval's own per-document scores, of which its task score is the mean.
"""
from __future__ import annotations

import math
import os

import numpy as np

from bench.results.schema import Sample

from .tasks import LeaderboardTask, item_id, leaf_names


def item_scores(task: LeaderboardTask, logged: dict[str, list[dict]]) -> dict[str, float]:
    """Item id -> the task metric's value on that document, under the task's filter, in lm-eval's document order."""
    scores: dict[str, float] = {}
    for leaf in leaf_names(task):
        for sample in logged.get(leaf, []):
            if sample["filter"] != task.filter:
                continue
            value = float(sample[task.metric])
            if not math.isfinite(value):
                raise ValueError(f"lm-eval logged a non-finite {task.metric} for {leaf} document {sample['doc_id']}")
            scores[item_id(task, leaf, int(sample["doc_id"]))] = value
    return scores


def check_mean(task: LeaderboardTask, value: float, scores: dict[str, float]) -> None:
    """lm-eval's task score must be the plain mean of the per-document scores (for MMLU: the group's accuracy
    weighted by subject size, which is the mean over all documents); anything else means the items are misread."""
    mean = float(np.mean(list(scores.values()))) if scores else float("nan")
    if not math.isclose(value, mean, rel_tol=1e-9, abs_tol=1e-12):
        raise RuntimeError(f"{task.name}: lm-eval's {task.metric} {value!r} is not the mean {mean!r} of the "
                           f"{len(scores)} per-document scores read from its logged samples")


def _chosen(task: LeaderboardTask, lm_task, doc: dict, sample: dict) -> tuple[str, str]:
    """(gold answer, the model's answer) as text. Multiple choice: the option with the highest log-likelihood, per
    character for acc_norm, as lm-eval picks it; GSM8K: the generation and the number the filter extracted."""
    if lm_task.OUTPUT_TYPE == "generate_until":
        return str(sample["target"]), f"{sample['resps'][0][0]}\n[extracted: {sample['filtered_resps'][0]}]"
    choices = [str(c) for c in lm_task.doc_to_choice(doc)]
    lls = np.array([float(r[0]) for r in sample["filtered_resps"]])
    if task.metric == "acc_norm":
        lls = lls / np.array([float(len(c)) for c in choices])
    if lm_task.multiple_input:  # Winogrande: the options are whole sentence beginnings; show where they differ
        shared = len(os.path.commonprefix(choices))
        choices = [c[shared:] for c in choices]
    if task.name == "truthfulqa_mc2":  # mc2 has no single gold: every answer labelled true
        labels = doc["mc2_targets"]["labels"]
        gold_text = " | ".join(c for c, label in zip(choices, labels) if label == 1)
    else:
        gold = lm_task.doc_to_text(doc) if lm_task.multiple_input else lm_task.doc_to_target(doc)
        gold_text = choices[gold] if isinstance(gold, int) else str(gold)
    return gold_text, choices[int(np.argmax(lls))]


def _prompt(task: LeaderboardTask, lm_task, doc: dict) -> str:
    """The document as asked, without few-shot exemplars (and without TruthfulQA's fixed six-question primer)."""
    if lm_task.multiple_input:
        return str(doc.get("sentence", doc))
    text = str(lm_task.doc_to_text(doc))
    if task.name.startswith("truthfulqa"):
        text = text[text.rfind("\n\nQ: ") + 2:]
    return text


def report_samples(task: LeaderboardTask, lm_tasks: dict, logged: dict[str, list[dict]], per_task: int) -> list[Sample]:
    """The first ``per_task`` evaluated documents of the task: prompt, the model's answer, the gold answer, score."""
    out: list[Sample] = []
    for leaf in leaf_names(task):
        for sample in logged.get(leaf, []):
            if len(out) >= per_task:
                return out
            if sample["filter"] != task.filter:
                continue
            lm_task = lm_tasks[leaf]
            gold, answer = _chosen(task, lm_task, sample["doc"], sample)
            out.append(Sample("open_llm", item_id(task, leaf, int(sample["doc_id"])), _prompt(task, lm_task, sample["doc"]),
                              answer, rating=float(sample[task.metric]),
                              extra={"task": task.name, "gold": gold, "metric": task.metric,
                                     "num_fewshot": task.num_fewshot}))
    return out
