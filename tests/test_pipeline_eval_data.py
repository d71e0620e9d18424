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
