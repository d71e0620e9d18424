"""Task YAMLs that keep lm-eval's own definition and only swap in local data files and the leaderboard's shots."""
from __future__ import annotations

import hashlib
from pathlib import Path

from .tasks import MMLU_SUBJECTS, LeaderboardTask

EXTENSIONS = {".jsonl": "json", ".json": "json", ".parquet": "parquet"}
# Config keys of lm-eval's task YAML that name a split, per local split name.
SPLIT_KEYS = {"train": "training_split", "validation": "validation_split", "test": "test_split", "dev": "fewshot_split"}


def lm_eval_tasks_dir() -> Path:
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
    lm_dir = lm_eval_tasks_dir()
    if task.name != "mmlu":
        files, missing = find_split_files(data_dir / task.folder, task) if data_dir else ({}, ["no data directory"])
        if missing and not use_hub:
            raise LookupError(missing_reason(task, missing))
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
        raise LookupError(missing_reason(task, missing[:4] + ([f"... {len(missing) - 4} more"] if len(missing) > 4 else [])))
    default = lm_dir / task.yaml
    for group_file in sorted(default.glob("_mmlu*.yaml")):
        _write_yaml(out / group_file.name, {"include": str(group_file)})
    for subject in MMLU_SUBJECTS:
        local = None if missing else subject_files[subject]
        _write_yaml(out / f"mmlu_{subject}.yaml", _override(default / f"mmlu_{subject}.yaml", f"mmlu_{subject}", task, local))
    return ("hub", {}) if missing else ("local", {"<subject>": data_dir / task.folder})


def missing_reason(task: LeaderboardTask, missing: list[str]) -> str:
    return (f"no local data for {task.name} (needs {', '.join(missing)}; lm-eval would download {task.hub} from the "
            f"Hugging Face Hub, which is offline here)")


def data_version(task: LeaderboardTask, data_dir: Path | None) -> str | None:
    """A hash of every local file of the task (names and bytes), so a changed copy shows in the results."""
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
