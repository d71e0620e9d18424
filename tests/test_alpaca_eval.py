"""The alpaca_eval benchmark end to end: outputs, alpaca_eval's annotator against a judge server, metrics."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.evals import EvalContext, get_benchmark
from bench.evals.alpaca_eval import resolved_annotator_config
from bench.judges import close_judges, get_judge


def test_resolved_config_never_holds_the_key(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_ENV", "sk-do-not-write")
    judge = get_judge("openai:gpt-4o-mini@http://127.0.0.1:1/v1", cache_dir=tmp_path, api_key_env="SECRET_ENV")
    path, name = resolved_annotator_config(judge, tmp_path)
    judge.close()
    text = path.read_text()
    assert name == "openai_compatible" and "sk-do-not-write" not in text
    assert "gpt-4o-mini" in text and "http://127.0.0.1:1/v1" in text and "alpaca_eval_clf.txt" in text
    assert Path(__import__("yaml").safe_load(text)[name]["prompt_template"]).is_file()


def _local_judge_rows(tmp_path, data_dir, out: str) -> dict:
    ctx = EvalContext("tiny-random", data_dir=data_dir, out_dir=tmp_path / out, limit=5,
                      options={"max_new_tokens": 8, "judge_cache_dir": tmp_path / "cache", "profile": "test"})
    try:
        result = get_benchmark("alpaca_eval").run(ctx)
        return {**{r.metric: r for r in result.metrics}, "exports": result.exports}
    finally:
        close_judges(ctx)


@pytest.mark.slow
def test_a_one_order_local_judge_gets_no_win_rate(tmp_path, data_dir, monkeypatch):
    """The default local judge reads one presentation order, with no position consistency measured: a judge that
    always picks one position would score about 50% against any reference, so the win rate is withheld."""
    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path / "cache"))
    rows = _local_judge_rows(tmp_path, data_dir, "out")
    win = rows["win_rate"]
    assert win.value is None and win.missing_reason.startswith("withheld: local judge local-smollm2")
    assert "local-smollm2:pairwise" in win.missing_reason and win.details["annotation_path"] == "none"
    assert rows["lc_win_rate"].value is None
    outputs = json.loads(Path(rows["exports"]["outputs"]).read_text())
    assert len(outputs) == 5 and set(outputs[0]) == {"instruction", "output", "generator"}  # the outputs are kept
    assert json.loads(json.dumps(win.to_dict(), allow_nan=False))  # strict JSON, no NaN


class _LongerWins:
    """A pairwise judge that prefers the longer answer (a stand-in for reward:<model>)."""

    def __init__(self):
        from bench.judges import Judge

        class Impl(Judge):
            id, kind = "stub-pairs", "test"

            def rate(self, requests, progress=None):
                raise NotImplementedError

            def prefer(self, requests, progress=None):
                from bench.judges import Preference

                return [Preference(2.0 if len(r.output_2) > len(r.output_1) else 1.0, "by length") for r in requests]

        self.judge = Impl()


@pytest.mark.slow
def test_alpaca_eval_with_a_pairwise_judge(tmp_path, data_dir):
    judge = _LongerWins().judge
    ctx = EvalContext("tiny-random", data_dir=data_dir, out_dir=tmp_path / "out", limit=6, judge="stub-pairs",
                      options={"max_new_tokens": 4})
    ctx._loaded["judges"] = {"stub-pairs": judge}
    result = get_benchmark("alpaca_eval").run(ctx)
    rows = {r.metric: r for r in result.metrics}
    annotations = json.loads(Path(result.exports["annotations"]).read_text())
    expected = 100 * sum(len(a["output_2"]) > len(a["output_1"]) for a in annotations) / 6
    assert rows["win_rate"].value == pytest.approx(expected) and rows["win_rate"].n_failures == 0
    assert rows["win_rate"].details["annotation_path"].startswith("bench judge stub-pairs.prefer")


@pytest.mark.slow
def test_a_local_pairwise_judge_reports_its_position_consistency(tmp_path, data_dir):
    """A local judge with the pairwise protocol (here a fake server that always says "A": pure position bias) asks
    both orders: every pair is a tie, the win rate is 50, and the position consistency of 0 says why."""
    from judges_helpers import FakeCompletions, fake_local_judge

    server = FakeCompletions(lambda body: {"A": 0.0})
    judge = fake_local_judge(tmp_path / "judge", server, "local-qwen0.5b:pairwise")
    ctx = EvalContext("tiny-random", data_dir=data_dir, out_dir=tmp_path / "out", limit=4, judge=judge.id,
                      options={"max_new_tokens": 4})
    ctx._loaded["judges"] = {judge.id: judge}
    try:
        result = get_benchmark("alpaca_eval").run(ctx)
    finally:
        close_judges(ctx)
        server.close()
    win = {r.metric: r for r in result.metrics}["win_rate"]
    assert win.value == pytest.approx(50.0) and win.n_items == 4
    consistency = win.details["position_consistency"]
    assert (consistency["value"], consistency["n_pairs"]) == (0.0, 4)
    # judge-check's shape, with the Wilson interval: for 0 of 4 its upper end is z^2 / (n + z^2)
    assert consistency["ci95"] == pytest.approx((0.0, 1.959964 ** 2 / (4 + 1.959964 ** 2)), abs=1e-6)
    assert len(server.bodies) == 8  # two orders per instruction
