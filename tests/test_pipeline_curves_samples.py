"""Training curves (a metric of each saved checkpoint), per-prompt samples for the report, and epochs-0 stages."""
from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from bench.pipeline.eval_extras import _question, checkpoint_curves, collect_samples
from bench.results import parse_results
from pipeline_helpers import bench_env, run_bench


def _write_jsonl(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_samples_are_read_back_from_each_evaluator(tmp_path):
    _write_jsonl(tmp_path / "gold" / "answers.jsonl", [
        {"id": "t-0", "prompt": "Answer in 3 words.", "answer": "<script>x</script>", "verdict": {"strict": 0.0, "failed": ["word_count(n=3)"]}},
        {"id": "t-1", "prompt": "Say hi.", "answer": "hi", "verdict": {"strict": 1.0, "failed": []}}])
    question = "Compose a haiku."
    _write_jsonl(tmp_path / "mt_bench" / "model_answer" / "model.jsonl",
                 [{"question_id": 81, "choices": [{"index": 0, "turns": ["leaves fall", "second"]}]}])
    _write_jsonl(tmp_path / "mt_bench" / "model_judgment" / "judge_single.jsonl", [
        {"question_id": 81, "turn": 1, "score": 6.0, "judgment": "Fine. Rating: [[6]]", "judge": ["j", "single-v1"],
         "user_prompt": f"[Instruction]\nBe fair.\n\n[Question]\n{question}\n\n[The Start of Assistant's Answer]\nleaves fall\n"}])
    (tmp_path / "alpaca_eval").mkdir()
    (tmp_path / "alpaca_eval" / "annotations.json").write_text(json.dumps([
        {"instruction": "Name a colour.", "output_1": "Blue.", "output_2": "Red.", "preference": 2.0, "preference_raw_completion": "m"},
        {"instruction": "Name a fruit.", "output_1": "Apple.", "output_2": "", "preference": None}]))

    samples = collect_samples(tmp_path)
    by = {(s["benchmark"], s["prompt_id"]): s for s in samples}
    assert by[("gold", "t-0")]["rating"] == 0.0 and "word_count(n=3)" in by[("gold", "t-0")]["rationale"]
    assert by[("gold", "t-0")]["output"] == "<script>x</script>"  # raw: the report escapes it
    assert by[("gold", "t-1")]["rating"] == 1.0
    mt = by[("mt_bench", "81-t1")]
    assert (mt["prompt"], mt["output"], mt["rating"]) == (question, "leaves fall", 6.0)
    assert mt["rationale"] == "Fine. Rating: [[6]]"
    assert by[("alpaca_eval", "0")]["rating"] == 1.0 and by[("alpaca_eval", "0")]["output"] == "Red."
    assert by[("alpaca_eval", "1")]["rating"] is None
    # The report schema accepts them as they are.
    parse_results({"schema": "adpa-bench/results/v1", "profile": "test", "entries": [
        {"student": "s", "method": "sft", "seed": 1, "model": "m", "metrics": [], "samples": samples}]})


def test_a_malformed_evaluator_file_loses_its_samples_not_the_stage(tmp_path):
    (tmp_path / "gold").mkdir()
    (tmp_path / "gold" / "answers.jsonl").write_text("{not json\n")
    assert collect_samples(tmp_path) == []
    assert _question("no markers here") == ""


class _Row:
    def __init__(self, benchmark, metric, value):
        self.benchmark, self.metric, self.value = benchmark, metric, value


def test_checkpoint_curves_score_each_checkpoint_in_step_order_and_end_with_the_final_model(tmp_path):
    for step in (4, 0, 2):
        (tmp_path / f"step-{step:05d}").mkdir()
    scores = {"step-00000": 0.1, "step-00002": None, "step-00004": 0.3}
    seen = []

    def evaluate(model_dir, names):
        seen.append((model_dir.rsplit("/", 1)[-1], names))
        return [_Row("reward", "score", scores[model_dir.rsplit("/", 1)[-1]]), _Row("reward", "other", 9.0)]

    final = [{"benchmark": "reward", "metric": "score", "value": 0.5}]
    points = checkpoint_curves(tmp_path, 6, final, {"benchmark": "reward", "metric": "score"}, evaluate)
    assert [name for name, _ in seen] == ["step-00000", "step-00002", "step-00004"]
    assert [(p["step"], p["value"]) for p in points] == [(0, 0.1), (4, 0.3), (6, 0.5)]  # step 2 unmeasured: a gap
    assert {p["name"] for p in points} == {"reward/score"}


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_bench_run_writes_curves_and_samples_and_epochs_0_keeps_the_base(tmp_path):
    run_dir = tmp_path / "run"
    result = run_bench(["--method", "dpo", "--profile", "test", "--teacher-rows", "--run-dir", str(run_dir),
                        "--set", "stages.dpo.checkpoints=1", "--set", "stages.ref_teacher.epochs=0",
                        "--set", "eval.benchmarks=[gold]", "--set", "eval.limit=4",
                        "--set", "eval.curves={benchmark: gold, metric: inst_level_loose_acc}"], bench_env(tmp_path / "cache"))
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((run_dir / "results.json").read_text())
    dpo = next(e for e in results["entries"] if e["method"] == "dpo")
    steps = dpo["training"]["steps"]
    assert [p["step"] for p in dpo["curves"]] == [0, steps // 2, steps]
    assert all(0.0 <= p["value"] <= 1.0 for p in dpo["curves"])
    final = next(m["value"] for m in dpo["metrics"] if m["metric"] == "inst_level_loose_acc")
    assert dpo["curves"][-1]["value"] == final
    gold = [s for s in dpo["samples"] if s["benchmark"] == "gold"]
    assert len(gold) == 4 and all(s["prompt"] and s["rationale"] for s in gold)

    plan = json.loads((run_dir / "plan.json").read_text())
    ref = next(e for e in results["entries"] if e["method"] == "ref_teacher")
    assert ref["training"]["steps"] == 0 and ref["curves"] == []
    base = plan["stages"]["ref_teacher"]["base_model"]
    trained = load_file(next((tmp_path / "cache").glob("stages/ref_teacher-*/model/model.safetensors")))
    original = load_file(tmp_path / "cache" / "models" / base / "model.safetensors")
    assert trained.keys() == original.keys()
    assert all(torch.equal(trained[k], original[k]) for k in trained)


def test_metric_rows_never_carry_nan_into_json():
    from bench.evals import MetricResult

    row = MetricResult("alpaca_eval", "win_rate", None, details={"leaderboard": {"win_rate": float("nan"), "n": [1.0, float("inf")]}})
    assert json.loads(json.dumps(row.to_dict(), allow_nan=False))["details"] == {"leaderboard": {"win_rate": None, "n": [1.0, None]}}
