"""open_llm on the shared data: every leaderboard task with local files is built offline by lm-eval's own
TaskManager from the configs this project writes, and its documents read as the raw rows say (no model)."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from bench.evals.open_llm import EVAL_SEED, TASKS, write_task_configs

BY_NAME = {t.name: t for t in TASKS}


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def manager(data_dir: Path, tmp_path_factory):
    """lm-eval's TaskManager over the configs written for every task whose files are in the shared data."""
    from lm_eval.tasks import TaskManager

    out = tmp_path_factory.mktemp("open_llm_configs")
    for task in TASKS:
        if task.name != "hellaswag":  # no local copy: its missing row is tested in test_open_llm_tasks
            assert write_task_configs(task, data_dir, out, use_hub=False)[0] == "local"
    return TaskManager(include_path=str(out), include_defaults=False)


def _task(manager, name: str):
    task = manager.load([name])["tasks"][name]
    task.set_fewshot_seed(EVAL_SEED)
    return task


def test_arc_challenge_reads_the_test_split_with_25_train_exemplars(manager, data_dir: Path):
    task = _task(manager, "arc_challenge")
    test, train = _rows(data_dir / "arc_challenge" / "test.jsonl"), _rows(data_dir / "arc_challenge" / "train.jsonl")
    assert len(task.eval_docs) == len(test) == 1172 and len(task.fewshot_docs()) == len(train)
    train_questions = {r["question"] for r in train}
    # doc 0 has labels A..D; doc 40 is one of the NYSEDREGENTS rows the data README warns about (labels A..D where
    # the hub copy has 1..4): lm-eval's target is the position of answerKey among the labels either way.
    for i in (0, 40):
        raw, doc = test[i], task.eval_docs[i]
        assert raw["id"].startswith("NYSEDREGENTS") == (i == 40)
        target = task.doc_to_target(doc)
        assert task.doc_to_choice(doc) == raw["choices"]["text"]
        assert raw["choices"]["text"][target] == raw["choices"]["text"][raw["choices"]["label"].index(raw["answerKey"])]
        context = task.fewshot_context(doc, 25)
        blocks = context.split("\n\n")
        assert len(blocks) == 26 and blocks[-1] == f"Question: {raw['question']}\nAnswer:"
        shots = [b.removeprefix("Question: ").split("\nAnswer: ")[0] for b in blocks[:-1]]
        assert all(q in train_questions for q in shots) and raw["question"] not in shots
    assert all(r["answerKey"] in r["choices"]["label"] for r in test + train)  # lm-eval's .index() would fail


def test_mmlu_subject_uses_its_five_dev_questions_in_order(manager, data_dir: Path):
    group = manager.load(["mmlu"])
    leaves = group["tasks"]
    assert len(leaves) == 57 and sum(len(t.eval_docs) for t in leaves.values()) == 14042
    task = _task(manager, "mmlu_anatomy")
    test, dev = _rows(data_dir / "mmlu" / "anatomy" / "test.jsonl"), _rows(data_dir / "mmlu" / "anatomy" / "dev.jsonl")
    for i in (0, 7):
        raw, doc = test[i], task.eval_docs[i]
        assert task.doc_to_choice(doc) == ["A", "B", "C", "D"] and task.doc_to_target(doc) == raw["answer"]
        context = task.fewshot_context(doc, 5)
        header = "The following are multiple choice questions (with answers) about anatomy.\n\n"
        assert context.startswith(header)
        shots = [f"{d['question'].strip()}\n" + "".join(f"{'ABCD'[j]}. {c}\n" for j, c in enumerate(d["choices"]))
                 + f"Answer: {'ABCD'[d['answer']]}" for d in dev]
        question = f"{raw['question'].strip()}\n" + "".join(f"{'ABCD'[j]}. {c}\n" for j, c in enumerate(raw["choices"]))
        assert context == header + "\n\n".join(shots) + "\n\n" + question + "Answer:"


def test_truthfulqa_mc2_choices_and_lm_evals_mc2_on_given_likelihoods(manager, data_dir: Path):
    task = _task(manager, "truthfulqa_mc2")
    raw_rows = _rows(data_dir / "truthfulqa" / "validation.jsonl")
    assert len(task.eval_docs) == len(raw_rows) == 817 and task.config.num_fewshot == 0
    raw, doc = raw_rows[3], task.eval_docs[3]
    choices, labels = raw["mc2_targets"]["choices"], raw["mc2_targets"]["labels"]
    assert task.doc_to_choice(doc) == choices and labels[0] == 1 and 0 in labels
    context = task.fewshot_context(doc, 0)
    assert context.startswith("Q: What is human life expectancy in the United States?")
    assert context.endswith(f"\n\nQ: {raw['question']}\nA:")
    # mc2 = probability mass on the true answers, normalised over all answers (by hand, from the labels)
    lls = [-1.0 - 0.5 * k for k in range(len(choices))]
    p = [math.exp(x) for x in lls]
    expected = sum(pi for pi, label in zip(p, labels) if label == 1) / sum(p)
    got = task.process_results(doc, [(x, False) for x in lls])["acc"]
    assert got == pytest.approx(expected)


def test_winogrande_scores_the_sentence_end_after_each_option(manager, data_dir: Path):
    task = _task(manager, "winogrande")
    raw_rows, train = _rows(data_dir / "winogrande" / "validation.jsonl"), _rows(data_dir / "winogrande" / "train.jsonl")
    assert len(task.eval_docs) == len(raw_rows) == 1267 and len(task.fewshot_docs()) == len(train)
    filled = {r["sentence"].replace("_", r["option" + r["answer"]]) for r in train}
    for i in (0, 1):
        raw, doc = raw_rows[i], task.eval_docs[i]
        cut = raw["sentence"].index("_")
        assert task.doc_to_text(doc) == {"1": 0, "2": 1}[raw["answer"]]  # the answer is the string "1" or "2"
        assert task.doc_to_choice(doc) == [raw["sentence"][:cut] + raw["option1"], raw["sentence"][:cut] + raw["option2"]]
        assert task.doc_to_target(doc) == raw["sentence"][cut + 1:].strip()
        contexts = task.fewshot_context(doc, 5)
        assert len(contexts) == 2
        for option, context in zip(task.doc_to_choice(doc), contexts):
            blocks = context.split("\n\n")
            assert len(blocks) == 6 and blocks[-1] == option and all(b in filled for b in blocks[:-1])


def test_gsm8k_test_questions_with_five_exemplars_from_the_local_pool(manager, data_dir: Path):
    task = _task(manager, "gsm8k")
    test, pool = _rows(data_dir / "gsm8k" / "test.jsonl"), _rows(data_dir / "gsm8k" / "train_first200.jsonl")
    assert len(task.eval_docs) == len(test) == 1319 and len(task.fewshot_docs()) == len(pool) == 200
    worked = {f"Question: {r['question']}\nAnswer: {r['answer']}" for r in pool}
    for i in (0, 5):
        raw, doc = test[i], task.eval_docs[i]
        assert task.doc_to_target(doc) == raw["answer"]
        blocks = task.fewshot_context(doc, 5).split("\n\n")
        assert blocks[-1] == f"Question: {raw['question']}\nAnswer:"
        assert len(blocks) == 6 and all(b in worked for b in blocks[:-1])
