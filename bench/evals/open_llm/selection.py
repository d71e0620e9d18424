"""Which documents of each task are evaluated when a run is limited.

A limit is a number of documents per task (``int`` for every task, or ``{task: n}``; ``None`` is the whole task).
MMLU counts as one task of 14,042 documents: ``n`` is split over its 57 subjects in proportion to their size
(largest remainders, at least one per subject, because lm-eval's group needs every subject). Within a task (or
subject) the documents are either a seeded uniform sample (``random``, the default: the mean over them estimates the
whole task's score, which an interval assumes) or the first ``n`` (``first``, lm-eval's own ``--limit``). The seed is
fixed, so every model is scored on the same documents and two models' items pair up; the sample is a prefix of one
seeded permutation per task (per subject for MMLU), so a larger limit keeps the documents of a smaller one. (A document's few-shot exemplars depend on
its position in the evaluated list, so its score is comparable across models at the same limits, not across limits.)

The result is lm-eval's ``samples`` argument: leaf task name -> sorted document indices (lm-eval maps its logged
``doc_id`` back through this list by position, which is right only when the list is sorted).
"""
from __future__ import annotations

import random
from collections.abc import Mapping

ORDERS = ("random", "first")


def task_limit(limit: int | Mapping[str, int] | None, task: str) -> int | None:
    if isinstance(limit, Mapping):
        value = limit.get(task)
    else:
        value = limit
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"open_llm limit for {task} must be a positive integer or null, got {value!r}")
    return value


def allocate(sizes: Mapping[str, int], n: int) -> dict[str, int]:
    """Split ``n`` documents over groups in proportion to their sizes: largest remainders, at least one each."""
    total = sum(sizes.values())
    if n >= total:
        return dict(sizes)
    n = max(n, len(sizes))
    quotas = {k: n * size / total for k, size in sizes.items()}
    counts = {k: min(sizes[k], max(1, int(q))) for k, q in quotas.items()}
    by_remainder = sorted(sizes, key=lambda k: (-(quotas[k] - int(quotas[k])), k))
    while sum(counts.values()) < n:
        grew = False
        for k in by_remainder:
            if sum(counts.values()) >= n:
                break
            if counts[k] < sizes[k]:
                counts[k] += 1
                grew = True
        if not grew:
            break
    while sum(counts.values()) > n:  # the floor of one per group can overshoot; take back from the largest
        k = max((k for k in counts if counts[k] > 1), key=lambda k: (counts[k] - quotas[k], k))
        counts[k] -= 1
    return counts


def pick(size: int, n: int, order: str, seed: int, key: str) -> list[int]:
    """``n`` sorted document indices out of ``size``."""
    if n >= size:
        return list(range(size))
    if order == "first":
        return list(range(n))
    if order != "random":
        raise ValueError(f"open_llm order must be one of {ORDERS}, got {order!r}")
    # the first n of one seeded permutation: a larger limit keeps every document of a smaller one
    permutation = list(range(size))
    random.Random(f"{seed}/{key}").shuffle(permutation)
    return sorted(permutation[:n])


def choose_documents(leaf_sizes: Mapping[str, int], n: int | None, order: str, seed: int) -> dict[str, list[int]]:
    """Document indices per leaf task for one of our tasks (one leaf, or MMLU's 57)."""
    if n is None:
        return {leaf: list(range(size)) for leaf, size in leaf_sizes.items()}
    counts = allocate(leaf_sizes, n)
    return {leaf: pick(size, counts[leaf], order, seed, leaf) for leaf, size in leaf_sizes.items()}
