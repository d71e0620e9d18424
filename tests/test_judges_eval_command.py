"""`bench eval` / evaluate(): rows from every benchmark, failures as rows, judges closed, JSON written atomically."""
from __future__ import annotations

import json

from bench.cli import main
from bench.evals import BENCHMARKS, Benchmark, BenchmarkResult, MetricResult
from bench.judges import RatingRequest, judge_for

from judges_helpers import FaultyChatServer


def test_eval_command_runs_judges_and_reports_failures(tmp_path, monkeypatch):
    opened = []

    def judged(ctx):
        judge, reason = judge_for(ctx, "fake_judged")
        opened.append(judge)
        [r] = judge.rate([RatingRequest(messages=[{"role": "user", "content": "q"}])])
        return BenchmarkResult("fake_judged", [MetricResult("fake_judged", "score", r.rating, 1, int(r.rating is None),
                                                            details={"judge": {**judge.describe(), "selected": reason}})])

    def broken(ctx):
        raise RuntimeError("kaput")

    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path / "cache"))  # the judgment cache goes there
    monkeypatch.setitem(BENCHMARKS, "fake_judged", Benchmark("fake_judged", "test", judged))
    monkeypatch.setitem(BENCHMARKS, "fake_broken", Benchmark("fake_broken", "test", broken))
    out = tmp_path / "evaluation.json"
    assert main(["eval", "--model", "tiny-random", "--benchmarks", "fake_judged,no_such_bench", "--out", str(tmp_path)]) == 2
    assert not out.exists()  # an unknown benchmark is refused before anything runs
    with FaultyChatServer({"q": ["ok:[[6]]"]}) as server:
        rc = main(["eval", "--model", "tiny-random", "--benchmarks", "fake_judged,fake_broken",
                   "--judge", f"openai:m@{server.base_url}", "--judge-key-env", "NO_SUCH_ENV",
                   "--out", str(tmp_path / "o"), "--json", str(out)])
    assert rc == 1  # a benchmark failed
    data = json.loads(out.read_text())
    rows = {(r["benchmark"], r["metric"]): r for b in data["benchmarks"] for r in b["metrics"]}
    assert rows[("fake_judged", "score")]["value"] == 6.0
    assert rows[("fake_judged", "score")]["details"]["judge"]["selected"] == "named with --judge"
    assert rows[("fake_broken", "all")]["value"] is None and "kaput" in rows[("fake_broken", "all")]["missing_reason"]
    assert [b["benchmark"] for b in data["benchmarks"]] == ["fake_judged", "fake_broken"]
    assert all(b["seconds"] is not None for b in data["benchmarks"])
    assert opened and opened[0]._client is None and opened[0].cache is None  # closed at the end
    assert not list(tmp_path.glob(".evaluation.json.*tmp*"))
    assert list((tmp_path / "cache" / "judgments").glob("*.sqlite"))


def test_reference_model_flag_reaches_the_benchmarks_options(tmp_path, monkeypatch):
    import bench.commands.eval

    seen = {}

    def fake_evaluate(model, benchmarks, **kwargs):
        seen.update(kwargs)
        return []

    monkeypatch.setattr(bench.commands.eval, "evaluate", fake_evaluate)
    assert main(["eval", "--model", "tiny-random", "--benchmarks", "reward", "--reference-model", "tiny-random-teacher",
                 "--out", str(tmp_path)]) == 0
    assert seen["options"]["reference_model"] == "tiny-random-teacher"
    seen.clear()
    assert main(["eval", "--model", "tiny-random", "--benchmarks", "reward", "--out", str(tmp_path)]) == 0
    assert "reference_model" not in seen["options"]
