"""open_llm: lm-eval's own task definitions on local files; missing tasks reported as missing, never 0."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bench.evals import EvalContext, get_benchmark
from bench.evals.open_llm import TASK_NAMES, TASKS, write_task_configs
from bench.evals.open_llm.items import check_mean, item_scores
from bench.evals.open_llm.tasks import TASKS_BY_NAME

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
    result = get_benchmark("open_llm").run(ctx)
    rows = result.metrics
    assert result.benchmark == "open_llm" and result.samples == [] and result.exports == {}
    assert [r.metric for r in rows] == [*TASK_NAMES, "average"]
    for row in rows:
        assert row.value is None and row.missing_reason and row.item_scores is None, row
    assert "arc_challenge/test.jsonl" in rows[0].missing_reason
    assert rows[-1].details["over"] == [] and set(rows[-1].details["missing"]) == set(TASK_NAMES)


def test_a_limit_mapping_runs_the_tasks_it_names(tmp_path: Path):
    ctx = EvalContext(model_spec="no-such-model", data_dir=tmp_path, out_dir=tmp_path / "out",
                      limit={"gsm8k": 5, "winogrande": None})
    rows = get_benchmark("open_llm").run(ctx).metrics
    assert [r.metric for r in rows] == ["winogrande", "gsm8k", "average"]  # in TASKS order
    assert rows[0].details["limit"] is None and rows[1].details["limit"] == 5
    assert rows[2].value is None and rows[2].details["missing"] == list(TASK_NAMES)
    with pytest.raises(ValueError, match="unknown open_llm task"):
        get_benchmark("open_llm").run(EvalContext(model_spec="x", data_dir=tmp_path, limit={"gsm8": 5}))


class _AnswerKeyLM:
    """A stand-in for HFLM that answers GSM8K from the local answer key, right on the questions whose rank (in
    sorted order) has the given parity and wrong on the others."""

    def __init__(self, key: dict[str, str], parity: int = 0):
        from lm_eval.api.model import LM

        ranks = {q: i for i, q in enumerate(sorted(key))}

        class Fake(LM):
            def generate_until(self, requests, disable_tqdm=False):
                out = []
                for req in requests:
                    question = req.args[0].rsplit("Question: ", 1)[-1].rsplit("\nAnswer:", 1)[0]
                    gold = key[question]
                    right = ranks[question] % 2 == parity
                    out.append(f"So it is {gold}.\n#### {gold if right else gold + '7'}")
                return out

            def loglikelihood(self, requests, disable_tqdm=False):
                raise NotImplementedError

            def loglikelihood_rolling(self, requests, disable_tqdm=False):
                raise NotImplementedError

        self.lm = Fake()


def _gsm8k_run(gsm8k_dir: Path, out: Path, monkeypatch, parity: int):
    import bench.evals.open_llm.quiet_lm as quiet

    rows = [json.loads(line) for line in (gsm8k_dir / "gsm8k" / "test.jsonl").read_text().splitlines()]
    key = {r["question"]: _answer(r["answer"]) for r in rows}
    monkeypatch.setattr(quiet, "QuietHFLM", lambda **kw: _AnswerKeyLM(key, parity).lm)
    ctx = EvalContext(model_spec="tiny-random", data_dir=gsm8k_dir, out_dir=out, limit=12,
                      options={"open_llm_tasks": ["gsm8k", "winogrande"]})
    ctx._loaded.update(model=None, tokenizer=None)  # the fake LM needs no model
    ranks = {q: i for i, q in enumerate(sorted(key))}
    expected = {f"gsm8k/{d}": float(ranks[r["question"]] % 2 == parity) for d, r in enumerate(rows)}
    return get_benchmark("open_llm").run(ctx), expected, rows


@pytest.fixture(scope="module")
def gsm8k_runs(data_dir: Path, tmp_path_factory) -> dict:
    """Two stand-in models on the same 12 GSM8K questions: one right where the other is wrong."""
    root = tmp_path_factory.mktemp("gsm8k_runs")
    (root / "gsm8k").mkdir()
    for name in ("test.jsonl", "train_first200.jsonl"):
        (root / "gsm8k" / name).symlink_to(data_dir / "gsm8k" / name)
    with pytest.MonkeyPatch.context() as monkeypatch:
        return {parity: _gsm8k_run(root, root / f"out{parity}", monkeypatch, parity) for parity in (0, 1)}


def test_exact_match_is_lm_evals_number_and_the_mean_of_its_item_scores(gsm8k_runs: dict):
    result, expected, rows = gsm8k_runs[0]
    winogrande, gsm8k, average = result.metrics  # in TASKS order
    assert gsm8k.n_items == 12 and gsm8k.score_kind == "binary" and len(gsm8k.item_scores) == 12
    # a seeded sample of the test set, not its first 12 questions; every item scored as the answer key says
    assert set(gsm8k.item_scores) != {f"gsm8k/{d}" for d in range(12)} and gsm8k.details["order"] == "random"
    assert gsm8k.item_scores == {i: expected[i] for i in gsm8k.item_scores}
    assert gsm8k.value == pytest.approx(sum(gsm8k.item_scores.values()) / 12) and 0 < gsm8k.value < 1
    assert "200 of the leaderboard's 7,473 train rows (train_first200.jsonl)" in gsm8k.details["note"]
    assert winogrande.value is None and "winogrande/train" in winogrande.missing_reason
    assert average.value == pytest.approx(gsm8k.value) and average.details["over"] == ["gsm8k"]
    # over one task the average is that task, items included (so it gets the task's interval and paired tests)
    assert average.item_scores == gsm8k.item_scores and "stratified bootstrap" in average.details["uncertainty"]
    # report samples: the prompt, the generation, the gold answer and lm-eval's score of that item
    assert len(result.samples) == 4
    for sample in result.samples:
        doc = int(sample.item_id.split("/")[1])
        assert sample.rating == gsm8k.item_scores[sample.item_id] and sample.extra["gold"] == rows[doc]["answer"]
        assert sample.prompt == f"Question: {rows[doc]['question']}\nAnswer:" and "####" in sample.output
    # lm-eval's own files: the results JSON without the samples, and the samples of both filters
    exported = json.loads(Path(result.exports["lm_eval_results"]).read_text())
    assert "samples" not in exported and exported["results"]["gsm8k"]["exact_match,strict-match"] == gsm8k.value
    logged = Path(result.exports["lm_eval_samples"]) / "samples_gsm8k.jsonl"
    assert len(logged.read_text().splitlines()) == 24


def test_items_pair_up_across_models(gsm8k_runs: dict):
    one, other = (gsm8k_runs[parity][0].metrics[1] for parity in (0, 1))
    assert list(one.item_scores) == list(other.item_scores)  # same documents, same ids, same order
    assert all(one.item_scores[i] + other.item_scores[i] == 1.0 for i in one.item_scores)


SHOTS = {"arc_challenge": 25, "mmlu": 5, "truthfulqa_mc2": 0, "winogrande": 5, "gsm8k": 5}
LIMITS = {"arc_challenge": 3, "mmlu": 57, "truthfulqa_mc2": 3, "winogrande": 3, "gsm8k": 2}


@pytest.mark.slow
def test_every_task_with_local_data_runs_offline_on_the_tiny_model(data_dir: Path, tmp_path: Path):
    # batch 2: lm-eval keeps full-vocabulary log-probs of every position of a batch (49k x 2,048 per sequence here)
    ctx = EvalContext(model_spec="tiny-random", data_dir=data_dir, out_dir=tmp_path / "out",
                      limit={**LIMITS, "hellaswag": 3}, options={"lm_eval_batch_size": 2})
    result = get_benchmark("open_llm").run(ctx)
    rows = {r.metric: r for r in result.metrics}
    assert list(rows) == [*TASK_NAMES, "average"]
    assert rows["hellaswag"].value is None and "no local data for hellaswag" in rows["hellaswag"].missing_reason
    pattern = {"mmlu": r"mmlu/[a-z_]+/\d+"}
    for name, n in LIMITS.items():
        row = rows[name]
        assert isinstance(row.value, float) and row.missing_reason is None, row
        assert row.n_items == n == len(row.item_scores)
        assert all(re.fullmatch(pattern.get(name, rf"{name}/\d+"), i) for i in row.item_scores)
        assert row.value == pytest.approx(sum(row.item_scores.values()) / n, abs=1e-12)
        kind = "continuous" if name == "truthfulqa_mc2" else "binary"
        assert row.score_kind == kind and all(0.0 <= v <= 1.0 for v in row.item_scores.values())
        if kind == "binary":
            assert set(row.item_scores.values()) <= {0.0, 1.0}
        d = row.details
        assert d["lm_eval_version"] == __import__("lm_eval").__version__ and d["task_version"] is not None
        assert d["num_fewshot"] == SHOTS[name] and d["data_source"] == "local" and d["limit"] == n
        assert re.fullmatch(r"[0-9a-f]{16}", d["data_version"])
    assert len({i.split("/")[1] for i in rows["mmlu"].item_scores}) == 57  # one document of every subject
    notes = {name: rows[name].details.get("note", "") for name in LIMITS}
    assert "1,056 of the leaderboard's 1,119 train rows" in notes["arc_challenge"]
    assert "10,234 of the leaderboard's 40,398 train rows" in notes["winogrande"]
    assert "train_first200.jsonl" in notes["gsm8k"] and not notes["mmlu"] and not notes["truthfulqa_mc2"]
    for sample in result.samples:  # the shown answer is the one lm-eval scored
        task, score = sample.extra["task"], rows[sample.extra["task"]].item_scores[sample.item_id]
        assert sample.rating == score
        if task not in ("gsm8k", "truthfulqa_mc2"):
            assert (sample.output == sample.extra["gold"]) == (score == 1.0), sample
    assert {s.extra["task"] for s in result.samples} == set(LIMITS)
    average = rows["average"]
    assert average.item_scores is None and average.details["over"] == list(LIMITS)
    assert average.value == pytest.approx(sum(rows[t].value for t in LIMITS) / 5) and "hellaswag" in average.details["note"]
    assert Path(result.exports["lm_eval_results"]).is_file()


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
    import bench.evals.open_llm.quiet_lm as quiet

    monkeypatch.setattr(quiet, "QuietHFLM", lambda **kw: _RightAnswerLM().lm)
    ctx = EvalContext(model_spec="tiny-random", data_dir=_multiple_choice_data_dir(tmp_path / "data"), out_dir=tmp_path / "out",
                      limit={"arc_challenge": 4, "hellaswag": None, "mmlu": None, "truthfulqa_mc2": None, "winogrande": None},
                      options={"open_llm_order": "first"})
    ctx._loaded.update(model=None, tokenizer=None)
    result = get_benchmark("open_llm").run(ctx)
    rows = {r.metric: r for r in result.metrics}
    assert list(rows["arc_challenge"].item_scores) == [f"arc_challenge/{d}" for d in range(4)]  # the first 4
    expected_n = {"arc_challenge": 4, "hellaswag": 5, "mmlu": 57 + 28, "truthfulqa_mc2": 4, "winogrande": 5}
    for name, n in expected_n.items():
        assert rows[name].value == pytest.approx(1.0), (name, rows[name])
        assert rows[name].n_items == n and rows[name].details["data_source"] == "local"
        assert len(rows[name].item_scores) == n and min(rows[name].item_scores.values()) == pytest.approx(1.0)
    assert rows["arc_challenge"].details["num_fewshot"] == 25 and rows["hellaswag"].details["num_fewshot"] == 10
    assert rows["mmlu"].details["num_fewshot"] == 5 and rows["truthfulqa_mc2"].details["num_fewshot"] == 0
    assert rows["average"].value == pytest.approx(1.0) and len(rows["average"].details["over"]) == 5
    for sample in result.samples:  # the model picks the RIGHT option every time, and the sample shows it
        if sample.extra["task"] == "mmlu":
            assert sample.output == sample.extra["gold"] and sample.output in "ABCD"
        else:
            assert "RIGHT" in sample.output and "RIGHT" in sample.extra["gold"]


def test_item_scores_come_from_the_tasks_filter_and_must_average_to_lm_evals_value():
    gsm8k, mmlu = TASKS_BY_NAME["gsm8k"], TASKS_BY_NAME["mmlu"]
    logged = {"gsm8k": [{"doc_id": 4, "filter": "strict-match", "exact_match": 1.0},
                        {"doc_id": 4, "filter": "flexible-extract", "exact_match": 0.0},
                        {"doc_id": 9, "filter": "strict-match", "exact_match": 0.0}]}
    assert item_scores(gsm8k, logged) == {"gsm8k/4": 1.0, "gsm8k/9": 0.0}
    logged = {"mmlu_anatomy": [{"doc_id": 3, "filter": "none", "acc": 1.0}],
              "mmlu_virology": [{"doc_id": 3, "filter": "none", "acc": 0.0}, {"doc_id": 5, "filter": "none", "acc": 0.0}]}
    items = item_scores(mmlu, logged)
    assert items == {"mmlu/anatomy/3": 1.0, "mmlu/virology/3": 0.0, "mmlu/virology/5": 0.0}
    check_mean(mmlu, 1 / 3, items)  # weighted by subject size = the mean over documents
    with pytest.raises(RuntimeError, match="not the mean"):
        check_mean(mmlu, 0.5, items)  # the unweighted mean of the subjects' scores


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


def test_lm_evals_own_progress_bars_are_off(monkeypatch):
    # lm-eval's evaluator calls these without disable_tqdm, and HFLM hands disable= to tqdm itself (TQDM_DISABLE
    # cannot reach it); our progress already reports the evaluation
    from lm_eval.models.huggingface import HFLM

    from bench.evals.open_llm.quiet_lm import QuietHFLM

    seen = {}
    for name in ("loglikelihood", "loglikelihood_rolling", "generate_until"):
        monkeypatch.setattr(HFLM, name, lambda self, requests, disable_tqdm=False, _n=name: seen.setdefault(_n, disable_tqdm))
    lm = object.__new__(QuietHFLM)  # no model needed to see what reaches HFLM
    assert [lm.loglikelihood([]), lm.loglikelihood_rolling([]), lm.generate_until([])] == [True, True, True]
    assert seen == {"loglikelihood": True, "loglikelihood_rolling": True, "generate_until": True}
