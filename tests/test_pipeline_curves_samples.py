"""Training curves (a metric of each saved checkpoint), per-prompt samples for the report, and epochs-0 stages."""
from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from pipeline_helpers import bench_env, run_bench


class _Cache:
    def __init__(self, root):
        self.root = root

    def final_dir(self, name, key):
        return self.root / name

    def manifest(self, name, key):
        return {"summary": {"steps": 6}}


def test_checkpoint_curve_scores_each_checkpoint_in_step_order_and_ends_with_the_final_model(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from bench.pipeline import eval_stage
    from bench.progress import Reporter
    from bench.results import BenchmarkResult, MetricResult

    for step in (4, 0, 2):
        (tmp_path / "dpo" / "checkpoints" / f"step-{step:05d}").mkdir(parents=True)
    scores = {"step-00000": 0.1, "step-00002": None, "step-00004": 0.3}
    seen = []

    def fake_evaluate(model_dir, names, **kwargs):
        folder = model_dir.rsplit("/", 1)[-1]
        seen.append((folder, names, kwargs["limit"]))
        value = scores[folder]
        return [BenchmarkResult("reward", [MetricResult("reward", "score", value, missing_reason=None if value is not None else "x"),
                                           MetricResult("reward", "other", 9.0)])]

    monkeypatch.setattr(eval_stage, "evaluate", fake_evaluate)
    ctx = SimpleNamespace(cache=_Cache(tmp_path), plan={"dpo": SimpleNamespace(key="k")}, data_dir=None, seed=1,
                          stage_dir=lambda name: tmp_path / name,
                          reporter=Reporter())
    stage = SimpleNamespace(name="eval_dpo", deps={"model": "dpo"}, config={
        "curves": {"benchmark": "reward", "metric": "score"}, "options": {}, "limit": {"reward": 3}, "profile": "test"})
    final = [BenchmarkResult("reward", [MetricResult("reward", "score", 0.5)])]
    points = eval_stage.checkpoint_curve(ctx, stage, tmp_path / "out", final)
    assert [name for name, _, _ in seen] == ["step-00000", "step-00002", "step-00004"]
    assert all(limit == {"reward": 3} for _, _, limit in seen)  # the final model's items
    assert [(p.step, p.value) for p in points] == [(0, 0.1), (4, 0.3), (6, 0.5)]  # step 2 unmeasured: a gap
    assert {p.name for p in points} == {"reward/score"}


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
    ids = {s["item_id"] for s in gold}
    prompt_level = next(m for m in dpo["metrics"] if m["metric"] == "prompt_level_strict_acc")
    assert set(prompt_level["items"]["ids"]) == ids  # samples and per-item scores join on the same ids
    assert prompt_level["interval"]["method"] == "wilson"

    plan = json.loads((run_dir / "plan.json").read_text())
    ref = next(e for e in results["entries"] if e["method"] == "ref_teacher")
    assert ref["training"]["steps"] == 0 and ref.get("curves", []) == []
    base = plan["stages"]["ref_teacher"]["base_model"]
    trained = load_file(next((tmp_path / "cache").glob("stages/ref_teacher-*/model/model.safetensors")))
    original = load_file(tmp_path / "cache" / "models" / base / "model.safetensors")
    assert trained.keys() == original.keys()
    assert all(torch.equal(trained[k], original[k]) for k in trained)


def test_metric_rows_never_carry_nan_into_json():
    from bench.evals import MetricResult

    row = MetricResult("alpaca_eval", "win_rate", None, details={"leaderboard": {"win_rate": float("nan"), "n": [1.0, float("inf")]}})
    assert json.loads(json.dumps(row.to_dict(), allow_nan=False))["details"] == {"leaderboard": {"win_rate": None, "n": [1.0, None]}}
