"""The six Open LLM Leaderboard (v1) tasks: which lm-eval task file, shots, metric and local files each one uses.

The leaderboard's split sizes are facts about the public data sets (Hugging Face copies); they are compared with the
local files so that a partial copy is reported in the task's details and footnote, never silently used.
"""
from __future__ import annotations

from dataclasses import dataclass

from bench.results.schema import BINARY, CONTINUOUS

# Every model and every training seed sees the same few-shot exemplars and the same subset of items, so two models'
# items pair up. 1234 is lm-eval's default few-shot seed, the one the v1 leaderboard ran with.
EVAL_SEED = 1234

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
    score_kind: str  # BINARY (acc, acc_norm, exact_match) or CONTINUOUS (TruthfulQA's mc2)
    folder: str  # under the data dir
    splits: dict[str, tuple[str, ...]]  # split -> accepted file stems, first found wins
    optional: tuple[str, ...] = ()  # splits that may be absent (their config key is then set to null)
    hub: str = ""  # what lm-eval downloads when no local copy is given
    eval_rows: int = 0  # rows of the split the leaderboard evaluates
    fewshot_split: str | None = None  # the split lm-eval draws few-shot exemplars from (None: zero-shot)
    fewshot_rows: int = 0  # rows of that split in the leaderboard's data


TASKS: tuple[LeaderboardTask, ...] = (
    LeaderboardTask("arc_challenge", "arc/arc_challenge.yaml", 25, "acc_norm", "none", BINARY, "arc_challenge",
                    {"train": ("train",), "validation": ("validation",), "test": ("test",)}, optional=("validation",),
                    hub="allenai/ai2_arc ARC-Challenge", eval_rows=1172, fewshot_split="train", fewshot_rows=1119),
    LeaderboardTask("hellaswag", "hellaswag/hellaswag.yaml", 10, "acc_norm", "none", BINARY, "hellaswag",
                    {"train": ("train",), "validation": ("validation",)}, hub="Rowan/hellaswag", eval_rows=10042,
                    fewshot_split="train", fewshot_rows=39905),
    LeaderboardTask("mmlu", "mmlu/default", 5, "acc", "none", BINARY, "mmlu", {"dev": ("dev",), "test": ("test",)},
                    hub="cais/mmlu", eval_rows=14042, fewshot_split="dev", fewshot_rows=285),
    LeaderboardTask("truthfulqa_mc2", "truthfulqa/truthfulqa_mc2.yaml", 0, "acc", "none", CONTINUOUS, "truthfulqa",
                    {"validation": ("validation",)}, hub="truthfulqa/truthful_qa multiple_choice", eval_rows=817),
    LeaderboardTask("winogrande", "winogrande/default.yaml", 5, "acc", "none", BINARY, "winogrande",
                    {"train": ("train",), "validation": ("validation",)}, hub="allenai/winogrande winogrande_xl",
                    eval_rows=1267, fewshot_split="train", fewshot_rows=40398),
    LeaderboardTask("gsm8k", "gsm8k/gsm8k.yaml", 5, "exact_match", "strict-match", BINARY, "gsm8k",
                    {"train": ("train", "train_first200"), "test": ("test",)}, hub="openai/gsm8k main",
                    eval_rows=1319, fewshot_split="train", fewshot_rows=7473),
)
TASK_NAMES = tuple(t.name for t in TASKS)
TASKS_BY_NAME = {t.name: t for t in TASKS}


def leaf_names(task: LeaderboardTask) -> list[str]:
    """lm-eval's leaf tasks of ours: MMLU is a group of 57 subject tasks, every other task is its own leaf."""
    return [f"mmlu_{s}" for s in MMLU_SUBJECTS] if task.name == "mmlu" else [task.name]


def item_id(task: LeaderboardTask, leaf: str, doc_id: int) -> str:
    """A stable id of one evaluated item: the same document gets the same id for every model."""
    if task.name == "mmlu":
        return f"mmlu/{leaf.removeprefix('mmlu_')}/{doc_id}"
    return f"{task.name}/{doc_id}"
