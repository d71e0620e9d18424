"""Open LLM Leaderboard (v1) through lm-evaluation-harness, on the model already in memory.

Each task runs with lm-eval's OWN task definition (its shipped YAML: prompt, few-shot config, metric, filters),
only pointed at local files: for every task we write a small YAML that ``include``s lm-eval's file by absolute path
and overrides the data source (``dataset_path: json`` or ``parquet`` with ``data_files``) and the leaderboard's
number of shots. Nothing about scoring is re-implemented here; the numbers are lm-eval's.

| metric (task)  | lm-eval task | shots | lm-eval metric            | local files under the data dir (.jsonl, .json or .parquet) |
|----------------|--------------|-------|---------------------------|------------------------------------------------------------|
| arc_challenge  | arc_challenge| 25    | acc_norm                  | arc_challenge/test, arc_challenge/train (validation optional); rows as allenai/ai2_arc ARC-Challenge |
| hellaswag      | hellaswag    | 10    | acc_norm                  | hellaswag/validation, hellaswag/train; rows as Rowan/hellaswag |
| mmlu           | mmlu (group) | 5     | acc (weighted by size)    | mmlu/<subject>/test, mmlu/<subject>/dev for all 57 subjects; rows as cais/mmlu <subject> |
| truthfulqa_mc2 | truthfulqa_mc2 | 0   | acc (= mc2)               | truthfulqa/validation; rows as truthfulqa/truthful_qa multiple_choice |
| winogrande     | winogrande   | 5     | acc                       | winogrande/validation, winogrande/train; rows as allenai/winogrande winogrande_xl |
| gsm8k          | gsm8k        | 5     | exact_match, strict-match | gsm8k/test, gsm8k/train (or train_first200: few-shot pool); rows as openai/gsm8k main |

A task whose files are missing is reported with ``value=None`` and a ``missing_reason`` (never 0); when the hub is
reachable (HF_HUB_OFFLINE unset) such a task falls back to lm-eval's stock hub data. Where a local file holds fewer
rows than the leaderboard's split (a partial few-shot pool), the task's details say so and carry a ``note``.

Every task row carries lm-eval's per-document scores (``log_samples=True``) as ``item_scores`` under stable ids
(``arc_challenge/17``, ``mmlu/anatomy/3``), and its value is asserted to be their mean. The ``average`` row is the
mean over the tasks that ran and names them; it has no item scores (see its details for its uncertainty).

Limits (``ctx.limit``: an int for every task, or ``{task: n}``, which runs only the tasks it names, ``null`` meaning
the whole task) count documents per task, MMLU as one task; by default
a seeded uniform sample (``options["open_llm_order"] = "first"`` takes the first n, as lm-eval's ``--limit``); see
``selection.py``. Few-shot draws and samples use one fixed seed (EVAL_SEED), not the training seed, so every model
sees the same prompts. Prompts are scored without a chat template, as on the v1 leaderboard; the prompts are lm-eval
0.4's task versions (recorded per row), not the older harness commit the leaderboard ran.
"""
from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from bench.models import offline
from bench.results.schema import BenchmarkResult, MetricResult

from .. import register
from ..base import Benchmark, EvalContext
from .configs import find_split_files, write_task_configs  # noqa: F401 - re-exported
from .export import write_exports
from .items import report_samples
from .rows import BENCHMARK, average_row, task_row
from .selection import ORDERS, choose_documents, task_limit
from .tasks import EVAL_SEED, MMLU_SUBJECTS, TASK_NAMES, TASKS, LeaderboardTask, leaf_names  # noqa: F401

SAMPLES_PER_TASK = 4  # documents per task shown in the report's sample browser


def _settings(ctx: EvalContext) -> dict:
    import lm_eval

    wanted = list(ctx.options.get("open_llm_tasks") or TASK_NAMES)
    if isinstance(ctx.limit, Mapping):  # a mapping also chooses the tasks: one it does not name is not run
        wanted = [t for t in wanted if t in ctx.limit]
    unknown = [t for t in [*wanted, *(ctx.limit if isinstance(ctx.limit, Mapping) else ())] if t not in TASK_NAMES]
    if unknown:
        raise ValueError(f"unknown open_llm task(s) {unknown}; choose from {', '.join(TASK_NAMES)}")
    order = ctx.options.get("open_llm_order", "random")
    if order not in ORDERS:
        raise ValueError(f"open_llm_order must be one of {ORDERS}, got {order!r}")
    seed = int(ctx.options.get("open_llm_seed", EVAL_SEED))
    return {"tasks": [t for t in TASKS if t.name in wanted], "limits": {t: task_limit(ctx.limit, t) for t in wanted},
            "order": order, "seed": seed, "use_hub": bool(ctx.options.get("open_llm_hub", not offline())),
            "base": {"harness": "lm-evaluation-harness", "lm_eval_version": lm_eval.__version__, "chat_template": None,
                     "seed": seed, "order": order}}


def run(ctx: EvalContext) -> BenchmarkResult:
    started = time.perf_counter()
    s = _settings(ctx)
    data_dir = Path(ctx.data_dir) if ctx.data_dir else None
    rows: dict[str, MetricResult] = {}
    sources: dict[str, tuple[str, dict]] = {}
    result = BenchmarkResult(BENCHMARK, [])
    with tempfile.TemporaryDirectory(prefix="open_llm_tasks_") as tmp:
        for task in s["tasks"]:
            details = {**s["base"], "limit": s["limits"][task.name], "num_fewshot": task.num_fewshot, "metric": task.metric}
            try:
                sources[task.name] = write_task_configs(task, data_dir, Path(tmp), s["use_hub"])
            except LookupError as err:
                rows[task.name] = MetricResult(BENCHMARK, task.name, None, missing_reason=str(err), details=details)
        runnable = [t for t in s["tasks"] if t.name in sources]
        if runnable:
            results, lm_tasks, elapsed = _evaluate(ctx, runnable, Path(tmp), s)
            result.exports = write_exports(Path(ctx.out_dir) / BENCHMARK, results, ctx.model_spec)
            for task in runnable:
                details = {**s["base"], "limit": s["limits"][task.name], "wall_time_s_all_tasks": round(elapsed, 1)}
                rows[task.name] = task_row(task, results, lm_tasks, sources[task.name], data_dir, details)
                result.samples += report_samples(task, lm_tasks, results.get("samples", {}),
                                                 int(ctx.options.get("open_llm_samples", SAMPLES_PER_TASK)))
    ordered = [rows[t.name] for t in s["tasks"]]
    result.metrics = ordered + [average_row(ordered, s["base"])]
    result.seconds = round(time.perf_counter() - started, 1)
    return result


def _evaluate(ctx: EvalContext, runnable: list[LeaderboardTask], config_dir: Path, s: dict) -> tuple[dict, dict, float]:
    """Load lm-eval's tasks from the generated configs, choose the documents, run them with per-document logging."""
    import lm_eval
    from .quiet_lm import QuietHFLM  # deferred: lm-eval (with torch), for this benchmark only
    from lm_eval.tasks import TaskManager

    manager = TaskManager(include_path=str(config_dir), include_defaults=False)
    lost = [t.name for t in runnable if t.name not in manager.all_tasks]
    if lost:  # lm-eval skips a YAML it cannot parse without saying so
        raise RuntimeError(f"lm-eval did not index the generated task config(s) for {lost} in {config_dir}")
    loaded = manager.load([t.name for t in runnable])
    lm_tasks = loaded["tasks"]
    top = [loaded["groups"][t.name] if t.name in loaded["groups"] else lm_tasks[t.name] for t in runnable]
    chosen: dict[str, list[int]] = {}
    for task in runnable:
        sizes = {leaf: len(lm_tasks[leaf].eval_docs) for leaf in leaf_names(task)}
        chosen |= choose_documents(sizes, s["limits"][task.name], s["order"], s["seed"])
    limited = any(s["limits"][t.name] is not None for t in runnable)
    model, tokenizer = ctx.model_and_tokenizer()
    lm = QuietHFLM(pretrained=model, tokenizer=tokenizer, batch_size=int(ctx.options.get("lm_eval_batch_size", 8)))
    started = time.perf_counter()
    results = lm_eval.simple_evaluate(
        model=lm, tasks=top, task_manager=manager, samples=chosen if limited else None, log_samples=True,
        random_seed=s["seed"], numpy_random_seed=s["seed"], torch_random_seed=s["seed"], fewshot_random_seed=s["seed"],
        bootstrap_iters=int(ctx.options.get("lm_eval_bootstrap_iters", 1000)),
    )
    return results, lm_tasks, time.perf_counter() - started


register(Benchmark(BENCHMARK, "Open LLM Leaderboard v1 (ARC, HellaSwag, MMLU, TruthfulQA, Winogrande, GSM8K) via lm-eval", run,
                   ("open_llm_tasks", "open_llm_hub", "open_llm_order", "open_llm_seed", "open_llm_samples",
                    "lm_eval_batch_size", "lm_eval_bootstrap_iters")))
