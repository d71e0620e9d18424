"""The alpaca_eval benchmark end to end: outputs, alpaca_eval's annotator against a judge server, metrics."""
from __future__ import annotations

import json
import math
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
                      options={"max_new_tokens": 8, "judge_cache_dir": tmp_path / "cache"})
    try:
        result = get_benchmark("alpaca_eval").run(ctx)
        return {**{r.metric: r for r in result.metrics}, "exports": result.exports}
    finally:
        close_judges(ctx)


@pytest.mark.slow
def test_alpaca_eval_with_the_local_judge(tmp_path, data_dir, monkeypatch):
    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path / "cache"))  # alpaca_eval's annotation cache lives there
    rows = _local_judge_rows(tmp_path, data_dir, "out")
    win = rows["win_rate"]
    assert win.n_items + win.n_failures == 5 and win.details["annotation_path"].startswith("alpaca_eval PairwiseAnnotator")
    annotations = json.loads(Path(rows["exports"]["annotations"]).read_text())
    prefs = [a["preference"] for a in annotations if a["preference"] is not None]
    assert len(prefs) == win.n_items and set(prefs) <= {1.0, 2.0}  # the grammar allows only "m" or "M"
    assert win.value == pytest.approx(100 * sum(p == 2.0 for p in prefs) / len(prefs))
    assert sorted(win.item_scores.values()) == sorted(100.0 * (p - 1) for p in prefs)  # per instruction: won 100, lost 0
    outputs = json.loads(Path(rows["exports"]["outputs"]).read_text())
    assert len(outputs) == 5 and set(outputs[0]) == {"instruction", "output", "generator"}
    # Offline there is no df_gamed.csv: the official LC stays empty, the fallback is named as one.
    assert rows["lc_win_rate"].value is None and "df_gamed.csv" in rows["lc_win_rate"].missing_reason
    fallback = rows["lc_win_rate_fallback"]
    assert fallback.value is None or (0.0 <= fallback.value <= 100.0 and not math.isnan(fallback.value))

    # The same outputs again: every annotation comes from alpaca_eval's cache (whole-number preferences, which
    # pandas 3 reads as int64), and the result is the same, not a failure.
    again = _local_judge_rows(tmp_path, data_dir, "again")
    assert "annotation_error" not in again["win_rate"].details
    assert (again["win_rate"].value, again["win_rate"].n_failures) == (win.value, win.n_failures)
    assert json.loads(json.dumps(again["win_rate"].to_dict(), allow_nan=False))  # strict JSON, no NaN


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
