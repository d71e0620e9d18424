"""open_llm: lm-eval's own task definitions on local files; missing tasks reported as missing, never 0."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bench.evals import EvalContext, get_benchmark
from bench.evals.open_llm import TASK_NAMES, TASKS, write_task_configs

GSM8K = {t.name: t for t in TASKS}["gsm8k"]


def _answer(text: str) -> str:
    return text.split("####")[-1].strip().replace(",", "")


@pytest.fixture()
def gsm8k_dir(tmp_path: Path, data_dir: Path) -> Path:
    """A data dir holding only GSM8K (links to the shared copy; nothing is copied)."""
    (tmp_path / "gsm8k").mkdir()
    for name in ("test.jsonl", "train_first200.jsonl"):
        (tmp_path / "gsm8k" / name).symlink_to(data_dir / "gsm8k" / name)
    return tmp_path


def test_generated_config_is_lm_evals_own_on_local_files(gsm8k_dir: Path, tmp_path: Path):
    from lm_eval.tasks import TaskManager
    from lm_eval.tasks._yaml_loader import load_yaml

    out = tmp_path / "cfg"
    out.mkdir()
    origin, files = write_task_configs(GSM8K, gsm8k_dir, out, use_hub=False)
    assert origin == "local" and files["train"].name == "train_first200.jsonl"
    task = TaskManager(include_path=str(out), include_defaults=False).load(["gsm8k"])["tasks"]["gsm8k"]
    stock = load_yaml(Path(__import__("lm_eval.tasks").tasks.__file__).parent / "gsm8k" / "gsm8k.yaml", resolve_func=False)
    config = task.config
    for key in ("doc_to_text", "doc_to_target", "metric_list", "filter_list", "generation_kwargs", "output_type"):
        assert getattr(config, key) == stock[key], key
    assert config.dataset_path == "json" and config.num_fewshot == 5
    assert len(task.test_docs()) == 1319 and len(task.training_docs()) == 200


def test_missing_data_is_missing_not_zero(tmp_path: Path):
    # No task data at all: no model is loaded (the spec would fail to load), every row says why.
    ctx = EvalContext(model_spec="no-such-model", data_dir=tmp_path, out_dir=tmp_path / "out", limit=5)
    rows = get_benchmark("open_llm").run(ctx)
    assert [r.metric for r in rows] == [*TASK_NAMES, "average"]
    for row in rows:
        assert row.value is None and row.missing_reason, row
    assert "arc_challenge/test.jsonl" in rows[0].missing_reason
    assert rows[-1].details["over"] == [] and set(rows[-1].details["missing"]) == set(TASK_NAMES)


class _AnswerKeyLM:
    """A stand-in for HFLM that answers GSM8K from the local answer key for every other question."""

    def __init__(self, key: dict[str, str]):
        from lm_eval.api.model import LM

        class Fake(LM):
            def generate_until(self, requests, disable_tqdm=False):
                out = []
                for req in requests:
                    question = req.args[0].rsplit("Question: ", 1)[-1].rsplit("\nAnswer:", 1)[0]
                    gold = key[question]
                    right = sorted(key).index(question) % 2 == 0
                    out.append(f"So it is {gold}.\n#### {gold if right else gold + '7'}")
                return out

            def loglikelihood(self, requests, disable_tqdm=False):
                raise NotImplementedError

            def loglikelihood_rolling(self, requests, disable_tqdm=False):
                raise NotImplementedError

        self.lm = Fake()


def test_exact_match_is_lm_evals_number_on_the_local_questions(gsm8k_dir: Path, tmp_path: Path, monkeypatch):
    import lm_eval.models.huggingface as hf

    rows = [json.loads(line) for line in (gsm8k_dir / "gsm8k" / "test.jsonl").read_text().splitlines()]
    key = {r["question"]: _answer(r["answer"]) for r in rows}
    monkeypatch.setattr(hf, "HFLM", lambda **kw: _AnswerKeyLM(key).lm)
    ctx = EvalContext(model_spec="tiny-random", data_dir=gsm8k_dir, out_dir=tmp_path / "out", limit=12,
                      options={"open_llm_tasks": ["gsm8k", "winogrande"]})
    ctx._loaded.update(model=None, tokenizer=None)  # the fake LM needs no model
    winogrande, gsm8k, average = get_benchmark("open_llm").run(ctx)  # in TASKS order
    first = sorted(key)
    expected = sum(first.index(r["question"]) % 2 == 0 for r in rows[:12]) / 12  # by hand: the even-ranked ones
    assert gsm8k.n_items == 12 and gsm8k.value == pytest.approx(expected)
    assert 0 < expected < 1
    assert winogrande.value is None and "winogrande/train" in winogrande.missing_reason
    assert average.value == pytest.approx(expected) and average.details["over"] == ["gsm8k"]
    assert (tmp_path / "out" / "open_llm" / "lm_eval_results.json").exists()


@pytest.mark.slow
def test_gsm8k_limit_20_on_tiny_model(gsm8k_dir: Path, tmp_path: Path):
    ctx = EvalContext(model_spec="tiny-random", data_dir=gsm8k_dir, out_dir=tmp_path / "out", limit=20)
    rows = {r.metric: r for r in get_benchmark("open_llm").run(ctx)}
    assert list(rows) == [*TASK_NAMES, "average"]
    gsm8k = rows["gsm8k"]
    assert isinstance(gsm8k.value, float) and 0.0 <= gsm8k.value <= 1.0 and gsm8k.missing_reason is None
    assert gsm8k.n_items == 20
    d = gsm8k.details
    assert d["lm_eval_version"] == __import__("lm_eval").__version__ and d["task_version"] == 3.0
    assert d["num_fewshot"] == 5 and d["metric"] == "exact_match" and d["filter"] == "strict-match"
    assert d["data_source"] == "local" and d["data_files"]["test"].endswith("gsm8k/test.jsonl")
    assert re.fullmatch(r"[0-9a-f]{16}", d["data_version"])
    for name in TASK_NAMES:
        if name != "gsm8k":
            assert rows[name].value is None and "no local data" in rows[name].missing_reason
    assert rows["average"].value == gsm8k.value and rows["average"].details["over"] == ["gsm8k"]
    assert rows["average"].details["complete"] is False


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def _multiple_choice_data_dir(root: Path) -> Path:
    """Tiny files in the documented layout and the hub data sets' row formats; the right answer says RIGHT."""
    def arc(i):
        return {"id": f"q{i}", "question": f"Question {i}?", "answerKey": "ABCD"[i % 4],
                "choices": {"text": [("RIGHT" if j == i % 4 else "wrong") + f" {i}.{j}" for j in range(4)], "label": list("ABCD")}}

    def hellaswag(i):
        return {"ind": i, "activity_label": "Cooking", "ctx_a": f"Someone cooks {i}.", "ctx_b": "then", "ctx": "",
                "endings": [("RIGHT" if j == i % 4 else "wrong") + f" end {j}." for j in range(4)], "source_id": "s",
                "split": "val", "split_type": "indomain", "label": str(i % 4)}

    def mmlu(i, subject):
        return {"question": f"{subject} question {i}?", "subject": subject, "answer": i % 4,
                "choices": [("RIGHT" if j == i % 4 else "wrong") + f" {j}" for j in range(4)]}

    def truthfulqa(i):
        return {"question": f"Fact {i}?", "mc1_targets": {"choices": ["RIGHT a", "wrong b"], "labels": [1, 0]},
                "mc2_targets": {"choices": ["RIGHT a", "wrong b", "RIGHT c"], "labels": [1, 0, 1]}}

    def winogrande(i):
        answer = "12"[i % 2]
        options = ["RIGHT one", "wrong two"] if answer == "1" else ["wrong one", "RIGHT two"]
        return {"sentence": f"Sentence {i} says _ is here.", "option1": options[0], "option2": options[1], "answer": answer}

    _write_jsonl(root / "arc_challenge" / "train.jsonl", [arc(i) for i in range(30)])
    _write_jsonl(root / "arc_challenge" / "test.jsonl", [arc(i) for i in range(30, 36)])
    _write_jsonl(root / "hellaswag" / "train.jsonl", [hellaswag(i) for i in range(12)])
    _write_jsonl(root / "hellaswag" / "validation.jsonl", [hellaswag(i) for i in range(12, 17)])
    _write_jsonl(root / "truthfulqa" / "validation.jsonl", [truthfulqa(i) for i in range(4)])
    _write_jsonl(root / "winogrande" / "train.jsonl", [winogrande(i) for i in range(6)])
    _write_jsonl(root / "winogrande" / "validation.jsonl", [winogrande(i) for i in range(6, 11)])
    from bench.evals.open_llm import MMLU_SUBJECTS

    for k, subject in enumerate(MMLU_SUBJECTS):
        _write_jsonl(root / "mmlu" / subject / "dev.jsonl", [mmlu(i, subject) for i in range(5)])
        _write_jsonl(root / "mmlu" / subject / "test.jsonl", [mmlu(i, subject) for i in range(5, 6 + k % 2)])
    return root


class _RightAnswerLM:
    """Log-likelihood 0 for the option marked RIGHT in the item being asked, -50 otherwise."""

    def __init__(self):
        from lm_eval.api.model import LM

        class Fake(LM):
            def loglikelihood(self, requests, disable_tqdm=False):
                out = []
                for req in requests:
                    context, continuation = req.args
                    asked = context.split("\n\n")[-1]
                    letter = re.search(r"^([ABCD])\. RIGHT", asked, re.M)
                    right = ("RIGHT" in continuation or (letter and continuation.strip() == letter.group(1))
                             or (not letter and "RIGHT" in asked.rsplit("\n", 1)[-1] and "RIGHT" not in continuation
                                 and "_" not in asked and "Answer:" not in asked and "A:" not in asked))
                    out.append((0.0 if right else -50.0, bool(right)))
                return out

            def generate_until(self, requests, disable_tqdm=False):
                raise NotImplementedError

            def loglikelihood_rolling(self, requests, disable_tqdm=False):
                raise NotImplementedError

        self.lm = Fake()


@pytest.mark.slow
def test_every_multiple_choice_task_runs_from_the_documented_layout(tmp_path: Path, monkeypatch):
    import lm_eval.models.huggingface as hf

    monkeypatch.setattr(hf, "HFLM", lambda **kw: _RightAnswerLM().lm)
    ctx = EvalContext(model_spec="tiny-random", data_dir=_multiple_choice_data_dir(tmp_path / "data"), out_dir=tmp_path / "out",
                      options={"open_llm_tasks": ["arc_challenge", "hellaswag", "mmlu", "truthfulqa_mc2", "winogrande"]})
    ctx._loaded.update(model=None, tokenizer=None)
    rows = {r.metric: r for r in get_benchmark("open_llm").run(ctx)}
    expected_n = {"arc_challenge": 6, "hellaswag": 5, "mmlu": 57 + 28, "truthfulqa_mc2": 4, "winogrande": 5}
    for name, n in expected_n.items():
        assert rows[name].value == pytest.approx(1.0), (name, rows[name])
        assert rows[name].n_items == n and rows[name].details["data_source"] == "local"
    assert rows["arc_challenge"].details["num_fewshot"] == 25 and rows["hellaswag"].details["num_fewshot"] == 10
    assert rows["mmlu"].details["num_fewshot"] == 5 and rows["truthfulqa_mc2"].details["num_fewshot"] == 0
    assert rows["average"].value == pytest.approx(1.0) and len(rows["average"].details["over"]) == 5


def test_without_local_data_the_hub_config_is_lm_evals_stock_task(tmp_path: Path):
    from lm_eval.tasks import TaskManager

    out = tmp_path / "cfg"
    out.mkdir()
    arc = {t.name: t for t in TASKS}["arc_challenge"]
    with pytest.raises(LookupError, match="arc_challenge/test.jsonl"):
        write_task_configs(arc, tmp_path, out, use_hub=False)
    assert write_task_configs(arc, tmp_path, out, use_hub=True) == ("hub", {})
    entry = TaskManager(include_path=str(out), include_defaults=False).task_index["arc_challenge"]
    assert entry.cfg["dataset_path"] == "allenai/ai2_arc" and entry.cfg["num_fewshot"] == 25
