"""An evaluation's data is checked before a run trains anything, and an evaluation stage that lost benchmarks is
evaluated again by the next run instead of being kept, gaps and all, in the stage cache."""
from __future__ import annotations

import io
from types import SimpleNamespace

from rich.console import Console

from bench.pipeline import runner
from bench.pipeline.cache import StageCache
from bench.pipeline.plan import build_plan
from bench.pipeline.prepare import check_availability
from bench.recipe import load_recipe


def _benchmarks_missing(data_dir) -> dict[str, str]:
    recipe = load_recipe("test", ["eval.benchmarks=[gold,mt_bench,alpaca_eval]"])
    plan = build_plan(recipe, ["sft"], "tiny-random", "tiny-random-teacher")
    return {k: v for k, v in check_availability(plan, recipe, data_dir).items() if k.startswith("benchmark ")}


def test_a_benchmark_whose_data_folder_is_missing_stops_the_run_before_training(tmp_path):
    none_set = _benchmarks_missing(None)
    assert sorted(none_set) == ["benchmark alpaca_eval", "benchmark mt_bench"]  # gold needs no data directory
    assert "BENCH_DATA_DIR" in none_set["benchmark mt_bench"]
    (tmp_path / "mt_bench").mkdir()
    only_alpaca = _benchmarks_missing(tmp_path)
    assert list(only_alpaca) == ["benchmark alpaca_eval"] and str(tmp_path / "alpaca_eval") in only_alpaca["benchmark alpaca_eval"]
    (tmp_path / "alpaca_eval").mkdir()
    assert _benchmarks_missing(tmp_path) == {}


def test_a_cached_evaluation_with_failed_benchmarks_is_evaluated_again(tmp_path, monkeypatch):
    stage = SimpleNamespace(kind="eval", role="student", key="e" * 64, config={}, deps={}, base_model=None)
    out = io.StringIO()
    ctx = SimpleNamespace(plan={"eval_sft": stage}, cache=StageCache(tmp_path), seed=0,
                          reporter=SimpleNamespace(console=Console(file=out, width=200)))
    outcomes = [["mt_bench"], [], []]  # the first evaluation loses MT-Bench (no data directory), the second does not
    calls = []

    def fake_eval(ctx, stage, folder):
        calls.append(folder)
        (folder / "evaluation.json").write_text(f"run {len(calls)}")
        return {"failed": outcomes[len(calls) - 1]}

    monkeypatch.setitem(runner.RUNNERS, "eval", fake_eval)
    assert [r["status"] for r in runner.execute(ctx)] == ["ran"]
    assert [r["status"] for r in runner.execute(ctx)] == ["ran"]  # evaluated again, not "cached"
    assert "cached with failed benchmarks (mt_bench)" in out.getvalue()
    final = ctx.cache.final_dir("eval_sft", stage.key)
    assert (final / "evaluation.json").read_text() == "run 2"
    assert ctx.cache.manifest("eval_sft", stage.key)["summary"] == {"failed": []}
    assert [r["status"] for r in runner.execute(ctx)] == ["cached"] and len(calls) == 2
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".lock")) == [final.name]  # nothing left aside


def test_only_the_lost_benchmarks_are_evaluated_again(tmp_path, monkeypatch):
    # a judge server that died loses MT-Bench; the next run evaluates MT-Bench alone and keeps the verifier's result,
    # answers and all, from the cached evaluation
    from bench.evals import BenchmarkResult, MetricResult
    from bench.pipeline import eval_stage
    from bench.results.evaluation import load_evaluation

    stage = SimpleNamespace(name="eval_sft", kind="eval", role="student", key="f" * 64, deps={"model": "sft"}, base_model=None,
                            config={"benchmarks": ["gold", "mt_bench"], "limit": None, "profile": "test",
                                    "options": {"model_id": "m"}, "curves": None})
    trained = SimpleNamespace(name="sft", kind="train", key="s" * 64, deps={})
    out = io.StringIO()
    ctx = SimpleNamespace(plan={"sft": trained, "eval_sft": stage}, cache=StageCache(tmp_path / "stages"), seed=0,
                          data_dir=None, model_dir=lambda name: tmp_path / name,
                          reporter=SimpleNamespace(console=Console(file=out, width=200)))
    ctx.cache.commit("sft", trained.key, ctx.cache.begin("sft", trained.key), {"summary": {}})  # the model: cached
    calls = []

    def fake_evaluate(model, names, *, out_dir, **_):
        calls.append(list(names))
        results = []
        for name in names:
            (out_dir / name).mkdir(parents=True)
            (out_dir / name / "answers.jsonl").write_text(f"{name} in call {len(calls)}")
            lost = name == "mt_bench" and len(calls) == 1
            row = MetricResult(name, "score", None if lost else 0.5 + len(calls) / 10, n_items=0 if lost else 4,
                               missing_reason="failed: the judge server died" if lost else None,
                               details={"failed": True} if lost else {})
            results.append(BenchmarkResult(name, [row]))
        return results

    monkeypatch.setattr(eval_stage, "evaluate", fake_evaluate)
    assert [r["summary"].get("failed") for r in runner.execute(ctx)] == [None, ["mt_bench"]]
    assert [r["summary"].get("failed") for r in runner.execute(ctx)] == [None, []]
    assert calls == [["gold", "mt_bench"], ["mt_bench"]]
    assert "eval_sft: kept gold from the cached evaluation; evaluating mt_bench" in out.getvalue()
    final = ctx.cache.final_dir("eval_sft", stage.key)
    values = {m.benchmark: m.value for m in load_evaluation(final / "evaluation.json").metrics}
    assert values == {"gold": 0.6, "mt_bench": 0.7}  # the verifier's from the first call, MT-Bench's from the second
    assert (final / "eval" / "gold" / "answers.jsonl").read_text() == "gold in call 1"
    assert (final / "eval" / "mt_bench" / "answers.jsonl").read_text() == "mt_bench in call 2"
    assert [r["status"] for r in runner.execute(ctx)] == ["cached", "cached"] and len(calls) == 2
