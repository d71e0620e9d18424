"""Open LLM Leaderboard (v1) through lm-evaluation-harness, on the model already in memory.

Each task runs with lm-eval's OWN task definition (its shipped YAML: prompt, few-shot config,
metric, filters), only pointed at local files: for every task we write a small YAML that
``include``s lm-eval's file by absolute path and overrides the data source (``dataset_path: json``
or ``parquet`` with ``data_files``) and the leaderboard's number of shots. Nothing about scoring is
re-implemented here; the numbers are lm-eval's.

| metric (task)  | lm-eval task | shots | lm-eval metric            | local files under the data dir (.jsonl, .json or .parquet) |
|----------------|--------------|-------|---------------------------|------------------------------------------------------------|
| arc_challenge  | arc_challenge| 25    | acc_norm                  | arc_challenge/test, arc_challenge/train (validation optional); rows as allenai/ai2_arc ARC-Challenge |
| hellaswag      | hellaswag    | 10    | acc_norm                  | hellaswag/validation, hellaswag/train; rows as Rowan/hellaswag |
| mmlu           | mmlu (group) | 5     | acc (weighted by size)    | mmlu/<subject>/test, mmlu/<subject>/dev for all 57 subjects; rows as cais/mmlu <subject> |
| truthfulqa_mc2 | truthfulqa_mc2 | 0   | acc (= mc2)               | truthfulqa/validation; rows as truthfulqa/truthful_qa multiple_choice |
| winogrande     | winogrande   | 5     | acc                       | winogrande/validation, winogrande/train; rows as allenai/winogrande winogrande_xl |
| gsm8k          | gsm8k        | 5     | exact_match, strict-match | gsm8k/test, gsm8k/train (or train_first200: few-shot pool); rows as openai/gsm8k main |

A task whose files are missing is reported with ``value=None`` and a ``missing_reason`` (never 0);
when the hub is reachable (HF_HUB_OFFLINE unset) such a task falls back to lm-eval's stock hub data.
The ``average`` row is the mean over the tasks that ran and names them. ``ctx.limit`` becomes
lm-eval's ``limit`` (per task; for MMLU per subject). Prompts are scored without a chat template,
as the v1 leaderboard did.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import register
from .base import Benchmark, EvalContext, MetricResult

BENCHMARK = "open_llm"
EXTENSIONS = {".jsonl": "json", ".json": "json", ".parquet": "parquet"}
# Config keys of lm-eval's task YAML that name a split, per local split name.
SPLIT_KEYS = {"train": "training_split", "validation": "validation_split", "test": "test_split", "dev": "fewshot_split"}

MMLU_SUBJECTS = (
    "abstract_algebra anatomy astronomy business_ethics clinical_knowledge college_biology college_chemistry "
    "college_computer_science college_mathematics college_medicine college_physics computer_security "
    "conceptual_physics econometrics electrical_engineering elementary_mathematics formal_logic global_facts "
    "high_school_biology high_school_chemistry high_school_computer_science high_school_european_history "
    "high_school_geography high_school_government_and_politics high_school_macroeconomics high_school_mathematics "
    "high_school_microeconomics high_school_physics high_school_psychology high_school_statistics "
    "high_school_us_history high_school_world_history human_aging human_sexuality international_law jurisprudence "
    "logical_fallacies machine_learning management marketing medical_genetics miscellaneous moral_disputes "
    "moral_scenarios nutrition philosophy prehistory professional_accounting professional_law professional_medicine "
    "professional_psychology public_relations security_studies sociology us_foreign_policy virology world_religions"
).split()


@dataclass(frozen=True)
class LeaderboardTask:
    name: str  # our metric name and lm-eval's task (or group) name
    yaml: str  # lm-eval's task file, relative to lm_eval/tasks
    num_fewshot: int
    metric: str  # lm-eval metric key
    filter: str  # lm-eval filter name ("none" unless the task defines filters)
    folder: str  # under the data dir
    splits: dict[str, tuple[str, ...]]  # split -> accepted file stems, first found wins
    optional: tuple[str, ...] = ()  # splits that may be absent (their config key is then set to null)
    hub: str = ""  # what lm-eval downloads when no local copy is given
    extra: dict = field(default_factory=dict)


TASKS: tuple[LeaderboardTask, ...] = (
    LeaderboardTask("arc_challenge", "arc/arc_challenge.yaml", 25, "acc_norm", "none", "arc_challenge",
                    {"train": ("train",), "validation": ("validation",), "test": ("test",)}, optional=("validation",),
                    hub="allenai/ai2_arc ARC-Challenge"),
    LeaderboardTask("hellaswag", "hellaswag/hellaswag.yaml", 10, "acc_norm", "none", "hellaswag",
                    {"train": ("train",), "validation": ("validation",)}, hub="Rowan/hellaswag"),
    LeaderboardTask("mmlu", "mmlu/default", 5, "acc", "none", "mmlu",
                    {"dev": ("dev",), "test": ("test",)}, hub="cais/mmlu"),
    LeaderboardTask("truthfulqa_mc2", "truthfulqa/truthfulqa_mc2.yaml", 0, "acc", "none", "truthfulqa",
                    {"validation": ("validation",)}, hub="truthfulqa/truthful_qa multiple_choice"),
    LeaderboardTask("winogrande", "winogrande/default.yaml", 5, "acc", "none", "winogrande",
                    {"train": ("train",), "validation": ("validation",)}, hub="allenai/winogrande winogrande_xl"),
    LeaderboardTask("gsm8k", "gsm8k/gsm8k.yaml", 5, "exact_match", "strict-match", "gsm8k",
                    {"train": ("train", "train_first200"), "test": ("test",)}, hub="openai/gsm8k main"),
)
TASK_NAMES = tuple(t.name for t in TASKS)


def _lm_eval_tasks_dir() -> Path:
    import lm_eval.tasks

    return Path(lm_eval.tasks.__file__).parent


def find_split_files(folder: Path, task: LeaderboardTask) -> tuple[dict[str, Path], list[str]]:
    """Local files per split, and a list of what is missing (empty when the task can run)."""
    found: dict[str, Path] = {}
    missing: list[str] = []
    for split, stems in task.splits.items():
        hit = next((folder / f"{stem}{ext}" for stem in stems for ext in EXTENSIONS if (folder / f"{stem}{ext}").is_file()), None)
        if hit is not None:
            found[split] = hit
        elif split not in task.optional:
            missing.append(str(folder / f"{'|'.join(stems)}.jsonl"))
    builders = {EXTENSIONS[p.suffix] for p in found.values()}
    if len(builders) > 1:
        missing.append(f"{folder}: all splits must share one format (found {sorted(p.name for p in found.values())})")
    return found, missing


def _override(include: Path, task_name: str, task: LeaderboardTask, files: dict[str, Path] | None) -> dict:
    """A YAML mapping that keeps lm-eval's definition and swaps in local data (``files``) and the shot count."""
    cfg: dict = {"include": str(include), "task": task_name, "num_fewshot": task.num_fewshot}
    if files is not None:
        cfg.update(dataset_path=EXTENSIONS[next(iter(files.values())).suffix], dataset_name=None,
                   dataset_kwargs={"data_files": {split: str(path) for split, path in files.items()}})
        for split in task.optional:
            if split not in files:
                cfg[SPLIT_KEYS[split]] = None
    return cfg


def _write_yaml(path: Path, cfg: dict) -> None:
    import yaml

    path.write_text(yaml.safe_dump(cfg, sort_keys=False))


def write_task_configs(task: LeaderboardTask, data_dir: Path | None, out: Path, use_hub: bool) -> tuple[str, dict]:
    """Write the task's YAML(s) into ``out``. Returns ("local" | "hub", {split: file}) or raises LookupError(reason)."""
    lm_dir = _lm_eval_tasks_dir()
    if task.name != "mmlu":
        files, missing = find_split_files(data_dir / task.folder, task) if data_dir else ({}, ["no data directory"])
        if missing and not use_hub:
            raise LookupError(_missing_reason(task, missing))
        local = None if missing else files
        _write_yaml(out / f"{task.name}.yaml", _override(lm_dir / task.yaml, task.name, task, local))
        return ("hub" if local is None else "local"), (local or {})
    # MMLU: lm-eval's group tree (mmlu -> 4 categories -> 57 subjects) with every subject on local files.
    subject_files: dict[str, dict[str, Path]] = {}
    missing: list[str] = []
    for subject in MMLU_SUBJECTS:
        files, miss = find_split_files(data_dir / task.folder / subject, task) if data_dir else ({}, ["no data directory"])
        subject_files[subject] = files
        missing += miss
    if missing and not use_hub:
        raise LookupError(_missing_reason(task, missing[:4] + ([f"... {len(missing) - 4} more"] if len(missing) > 4 else [])))
    default = lm_dir / task.yaml
    for group_file in sorted(default.glob("_mmlu*.yaml")):
        _write_yaml(out / group_file.name, {"include": str(group_file)})
    for subject in MMLU_SUBJECTS:
        local = None if missing else subject_files[subject]
        _write_yaml(out / f"mmlu_{subject}.yaml", _override(default / f"mmlu_{subject}.yaml", f"mmlu_{subject}", task, local))
    return ("hub", {}) if missing else ("local", {"<subject>": data_dir / task.folder})


def _missing_reason(task: LeaderboardTask, missing: list[str]) -> str:
    return (f"no local data for {task.name} (needs {', '.join(missing)}; lm-eval would download {task.hub} from the "
            f"Hugging Face Hub, which is offline here)")


def _data_version(task: LeaderboardTask, data_dir: Path | None) -> str | None:
    if data_dir is None:
        return None
    h = hashlib.sha256()
    for path in sorted((data_dir / task.folder).rglob("*")):
        if path.is_file() and path.suffix in EXTENSIONS:
            h.update(str(path.relative_to(data_dir)).encode())
            with path.open("rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
    return h.hexdigest()[:16]


def _write_json_atomic(path: Path, payload: dict) -> None:
    from lm_eval.utils import handle_non_serializable

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(payload, indent=2, default=handle_non_serializable))
    os.replace(tmp, path)


def _n_evaluated(results: dict, task: LeaderboardTask) -> int:
    n_samples = results.get("n-samples", {})
    if task.name in n_samples:
        return int(n_samples[task.name]["effective"])
    return sum(int(v["effective"]) for k, v in n_samples.items() if k.startswith(f"{task.name}_"))


def run(ctx: EvalContext) -> list[MetricResult]:
    import lm_eval
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    from bench.models import offline

    use_hub = bool(ctx.options.get("open_llm_hub", not offline()))
    data_dir = Path(ctx.data_dir) if ctx.data_dir else None
    wanted = ctx.options.get("open_llm_tasks") or TASK_NAMES
    unknown = [t for t in wanted if t not in TASK_NAMES]
    if unknown:
        raise ValueError(f"unknown open_llm task(s) {unknown}; choose from {', '.join(TASK_NAMES)}")
    tasks = [t for t in TASKS if t.name in wanted]
    rows: dict[str, MetricResult] = {}
    sources: dict[str, tuple[str, dict]] = {}
    base_details = {"harness": "lm-evaluation-harness", "lm_eval_version": lm_eval.__version__, "limit": ctx.limit,
                    "chat_template": None, "seed": ctx.seed}

    with tempfile.TemporaryDirectory(prefix="open_llm_tasks_") as tmp:
        tmp_dir = Path(tmp)
        for task in tasks:
            try:
                sources[task.name] = write_task_configs(task, data_dir, tmp_dir, use_hub)
            except LookupError as err:
                rows[task.name] = MetricResult(BENCHMARK, task.name, None, missing_reason=str(err),
                                               details={**base_details, "num_fewshot": task.num_fewshot, "metric": task.metric})
        runnable = [t for t in tasks if t.name in sources]
        if runnable:
            manager = TaskManager(include_path=str(tmp_dir), include_defaults=False)
            lost = [t.name for t in runnable if t.name not in manager.all_tasks]
            if lost:  # lm-eval skips a YAML it cannot parse without saying so
                raise RuntimeError(f"lm-eval did not index the generated task config(s) for {lost} in {tmp_dir}")
            model, tokenizer = ctx.model_and_tokenizer()
            lm = HFLM(pretrained=model, tokenizer=tokenizer, batch_size=int(ctx.options.get("lm_eval_batch_size", 8)))
            started = time.perf_counter()
            results = lm_eval.simple_evaluate(
                model=lm, tasks=[t.name for t in runnable], task_manager=manager, limit=ctx.limit, log_samples=False,
                random_seed=ctx.seed, numpy_random_seed=ctx.seed, torch_random_seed=ctx.seed,
                fewshot_random_seed=ctx.seed, bootstrap_iters=int(ctx.options.get("lm_eval_bootstrap_iters", 1000)),
            )
            elapsed = time.perf_counter() - started
            _write_json_atomic(Path(ctx.out_dir) / "open_llm" / "lm_eval_results.json", results)
            for task in runnable:
                rows[task.name] = _task_row(task, results, sources[task.name], data_dir, base_details, elapsed)

    ordered = [rows[t.name] for t in tasks]
    return ordered + [_average(ordered, base_details)]


def _task_row(task: LeaderboardTask, results: dict, source: tuple[str, dict], data_dir: Path | None,
              base_details: dict, elapsed: float) -> MetricResult:
    scores = results["results"].get(task.name, {})
    key = f"{task.metric},{task.filter}"
    value = scores.get(key)
    stderr = scores.get(f"{task.metric}_stderr,{task.filter}")
    origin, files = source
    details = {
        **base_details, "lm_eval_task": task.name, "task_version": results.get("versions", {}).get(task.name),
        "num_fewshot": results.get("n-shot", {}).get(task.name, task.num_fewshot), "metric": task.metric,
        "filter": task.filter, "all_metrics": {k: v for k, v in scores.items() if k != "alias"},
        "data_source": origin, "data_files": {s: str(p) for s, p in files.items()},
        "data_version": _data_version(task, data_dir) if origin == "local" else task.hub,
        "wall_time_s_all_tasks": round(elapsed, 1),
    }
    if task.name == "gsm8k" and origin == "local" and "train" in files and files["train"].stem != "train":
        details["note"] = (f"few-shot examples drawn from {files['train'].name}, not the full GSM8K train split: "
                           "lm-eval's sampler is seeded but the exemplars differ from a hub run")
    n = _n_evaluated(results, task)
    if value is None or value == "N/A":
        return MetricResult(BENCHMARK, task.name, None, n_items=n, details=details,
                            missing_reason=f"lm-eval returned no '{key}' for {task.name} (got {sorted(scores)})")
    return MetricResult(BENCHMARK, task.name, float(value), n_items=n,
                        stderr=None if stderr in (None, "N/A") else float(stderr), details=details)


def _average(rows: list[MetricResult], base_details: dict) -> MetricResult:
    ran = [r for r in rows if r.value is not None]
    missing = [r.metric for r in rows if r.value is None]
    details = {**base_details, "over": [r.metric for r in ran], "missing": missing,
               "complete": not missing and len(rows) == len(TASKS),
               "definition": "unweighted mean of the leaderboard metrics of the tasks that ran"}
    if not ran:
        return MetricResult(BENCHMARK, "average", None, details=details,
                            missing_reason="no Open LLM Leaderboard task could run (no task data available)")
    return MetricResult(BENCHMARK, "average", sum(r.value for r in ran) / len(ran),
                        n_items=sum(r.n_items for r in ran), details=details)


register(Benchmark(BENCHMARK, "Open LLM Leaderboard v1 (ARC, HellaSwag, MMLU, TruthfulQA, Winogrande, GSM8K) via lm-eval", run,
                   ("open_llm_tasks", "open_llm_hub", "lm_eval_batch_size", "lm_eval_bootstrap_iters")))
