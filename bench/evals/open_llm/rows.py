"""MetricResult rows from an lm-eval run: one per task (lm-eval's number, its per-document scores, where the data
differs from the leaderboard's), and the average over the tasks that ran."""
from __future__ import annotations

from pathlib import Path

from bench import stats
from bench.results.schema import Interval, MetricResult

from .configs import data_version
from .items import check_mean, item_scores
from .tasks import TASK_NAMES, TASKS, LeaderboardTask, leaf_names

BENCHMARK = "open_llm"


def data_notes(task: LeaderboardTask, lm_tasks: dict, files: dict[str, Path]) -> tuple[dict, list[str]]:
    """Rows of the evaluated split and of the few-shot pool against the leaderboard's, and a note for each
    shortfall: a partial few-shot pool changes which exemplars the seeded draw picks."""
    leaves = [lm_tasks[leaf] for leaf in leaf_names(task)]
    eval_rows = sum(len(t.eval_docs) for t in leaves)
    facts: dict = {"eval_rows": eval_rows, "leaderboard_eval_rows": task.eval_rows}
    notes: list[str] = []
    if eval_rows < task.eval_rows:
        notes.append(f"{task.name} is evaluated on a copy holding {eval_rows:,} of the leaderboard's "
                     f"{task.eval_rows:,} documents")
    if task.fewshot_split:
        pool = sum(len(t.fewshot_docs()) for t in leaves)
        source = files.get(task.fewshot_split)
        facts["fewshot_pool"] = {"split": task.fewshot_split, "rows": pool, "leaderboard_rows": task.fewshot_rows,
                                 "file": source.name if isinstance(source, Path) else None}
        if pool < task.fewshot_rows:
            named = f" ({source.name})" if isinstance(source, Path) else ""
            notes.append(f"{task.name}'s {task.num_fewshot}-shot exemplars are drawn from {pool:,} of the leaderboard's "
                         f"{task.fewshot_rows:,} {task.fewshot_split} rows{named}, so the seeded draws differ from "
                         "the leaderboard's")
    return facts, notes


def task_row(task: LeaderboardTask, results: dict, lm_tasks: dict, source: tuple[str, dict], data_dir: Path | None,
             details: dict) -> MetricResult:
    """One task's row: lm-eval's score, asserted to be the mean of the per-document scores it logged."""
    scores = results["results"].get(task.name, {})
    key = f"{task.metric},{task.filter}"
    value, stderr = scores.get(key), scores.get(f"{task.metric}_stderr,{task.filter}")
    origin, files = source
    facts, notes = data_notes(task, lm_tasks, files if origin == "local" else {})
    details = {
        **details, "lm_eval_task": task.name, "task_version": results.get("versions", {}).get(task.name),
        "num_fewshot": results.get("n-shot", {}).get(task.name, task.num_fewshot), "metric": task.metric,
        "filter": task.filter, "all_metrics": {k: v for k, v in scores.items() if k not in ("alias", "name")},
        "data_source": origin, "data_files": {s: str(p) for s, p in files.items()},
        "data_version": data_version(task, data_dir) if origin == "local" else task.hub, **facts,
    }
    if notes:
        details["note"] = "; ".join(notes)
    if value is None or value == "N/A":
        return MetricResult(BENCHMARK, task.name, None, details=details,
                            missing_reason=f"lm-eval returned no '{key}' for {task.name} (got {sorted(scores)})")
    items = item_scores(task, results.get("samples", {}))
    check_mean(task, float(value), items)
    return MetricResult(BENCHMARK, task.name, float(value), n_items=len(items),
                        stderr=None if stderr in (None, "N/A") else float(stderr), details=details,
                        item_scores=items, score_kind=task.score_kind)


def average_row(rows: list[MetricResult], details: dict) -> MetricResult:
    """The leaderboard's average: the unweighted mean of the task scores that ran. It has no per-item scores (the
    tasks' items are different things on different scales), so its uncertainty comes from the tasks'."""
    ran = [r for r in rows if r.value is not None]
    missing = [name for name in TASK_NAMES if name not in {r.metric for r in ran}]
    details = {**details, "over": [r.metric for r in ran], "missing": missing,
               "complete": not missing,
               "definition": "unweighted mean of the leaderboard metrics of the tasks that ran",
               "uncertainty": ("the tasks are scored on disjoint items: a 95% stratified bootstrap percentile interval "
                               "(each task's items resampled on their own, bench.stats.stratified_bootstrap_mean); "
                               "over one task, the task's own items and interval (and paired tests); over several, no "
                               "paired test (compare the tasks' rows)")}
    if missing:
        details["note"] = f"Open LLM average over {len(ran)} of {len(TASKS)} tasks ({', '.join(missing)} not run)"
    if not ran:
        return MetricResult(BENCHMARK, "average", None, details=details,
                            missing_reason="no Open LLM Leaderboard task could run (no task data available)")
    value = sum(r.value for r in ran) / len(ran)
    if len(ran) == 1:  # the average is that task: its items give the interval and the paired comparisons
        return MetricResult(BENCHMARK, "average", value, n_items=ran[0].n_items, details=details,
                            item_scores=dict(ran[0].item_scores or {}) or None, score_kind=ran[0].score_kind)
    return MetricResult(BENCHMARK, "average", value, n_items=sum(r.n_items for r in ran), details=details,
                        interval=_stratified_interval(value, ran))


def _stratified_interval(value: float, ran: list[MetricResult]) -> Interval | None:
    """Stratified bootstrap: each task's items resampled on their own, the average of the resampled task means;
    percentile, so inside the tasks' range by construction (a task at 0% or 100% stays there)."""
    return stats.stratified_bootstrap_mean([list((row.item_scores or {}).values()) for row in ran])
