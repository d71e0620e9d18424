"""Judge robustness (issue 13 item 3): off-scale ratings, settable timeout and retries with backoff, a breaker
for dead endpoints, cheap defaults, and a warning before a key goes over plain http to another host."""
from __future__ import annotations

import httpx
import pytest

from bench.judges import RatingRequest, get_judge
from bench.judges import openai_compat
from bench.judges.openai_compat import OpenAICompatJudge

from judges_helpers import FaultyChatServer


def _req(text: str, scale=None) -> RatingRequest:
    messages = [{"role": "system", "content": "judge"}, {"role": "user", "content": text}]
    return RatingRequest(messages=messages, scale=scale) if scale else RatingRequest(messages=messages)


def _no_network(monkeypatch, sent: list):
    """Requests never leave this machine: httpx's client answers [[5]] itself and records what it was given."""
    def post(self, url, json=None, headers=None, **kwargs):
        sent.append({"url": url, "auth": (headers or {}).get("Authorization")})
        return httpx.Response(200, json={"choices": [{"message": {"content": "[[5]]"}}]}, request=httpx.Request("POST", url))
    monkeypatch.setattr(httpx.Client, "post", post)


def test_a_rating_outside_the_scale_is_a_parse_failure(tmp_path):
    script = {"off": ["ok:Great answer. Rating: [[85]]"], "zero": ["ok:[[0]]"], "ok": ["ok:Rating: [[7]]"],
              "edge": ["ok:[[10]]"]}
    with FaultyChatServer(script) as server:
        judge = OpenAICompatJudge("m", server.base_url, api_key_env=None, cache_path=tmp_path / "c.sqlite")
        off, zero, ok, edge = judge.rate([_req("off"), _req("zero"), _req("ok"), _req("edge")])
        judge.close()
    assert off.rating is None and off.error == "parse: rating 85 is outside the scale 1..10"
    assert off.raw == "Great answer. Rating: [[85]]"  # the judge's text is kept for the record
    assert zero.rating is None and ok.rating == 7.0 and edge.rating == 10.0
    assert judge.stats.parse_failures == 2


def test_a_request_may_carry_its_own_scale(tmp_path):
    with FaultyChatServer({"ok": ["ok:Rating: [[7]]"]}) as server:
        judge = OpenAICompatJudge("m", server.base_url, api_key_env=None)
        small, default = judge.rate([_req("ok", (1, 5)), _req("ok")])
        judge.close()
    assert small.rating is None and "outside the scale 1..5" in small.error and default.rating == 7.0


def test_timeout_and_retries_are_settable_through_get_judge(tmp_path):
    with FaultyChatServer({"slow": ["slow"]}, slow_s=1.0) as server:
        judge = get_judge(f"openai:m@{server.base_url}", cache_dir=tmp_path, timeout_s=0.2, max_retries=1,
                          backoff_s=0.01)
        [rating] = judge.rate([_req("slow")])
        judge.close()
        assert len(server.requests) == 2  # one try and one retry, each cut off by the 0.2 s timeout
    assert rating.rating is None and "Timeout" in rating.error
    assert judge.settings["timeout_s"] == 0.2 and judge.settings["max_retries"] == 1


def test_local_judges_take_the_same_options(tmp_path):
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"x")
    from bench.judges.local import LocalJudge

    judge = LocalJudge("local-smollm2", model_path=fake, timeout_s=7, max_retries=0, max_consecutive_failures=2)
    assert (judge.timeout_s, judge.max_retries, judge.max_consecutive_failures) == (7.0, 0, 2)
    judge.close()


def test_backoff_is_exponential(monkeypatch):
    judge = OpenAICompatJudge("m", "http://127.0.0.1:9/v1", api_key_env=None, backoff_s=1.0, max_backoff_s=8.0)
    monkeypatch.setattr(openai_compat.random, "random", lambda: 1.0)  # jitter at its top: the nominal delay
    assert [judge.backoff_delay(k) for k in (1, 2, 3, 4, 5)] == [1.0, 2.0, 4.0, 8.0, 8.0]
    monkeypatch.setattr(openai_compat.random, "random", lambda: 0.0)
    assert judge.backoff_delay(3) == 2.0  # never below half the nominal delay


def test_a_dead_endpoint_stops_being_asked(tmp_path):
    """After max_consecutive_failures judgments failed every attempt, the rest fail without a request."""
    with FaultyChatServer({"x": ["500"]}) as server:
        judge = OpenAICompatJudge("m", server.base_url, api_key_env=None, max_retries=1, backoff_s=0.01,
                                  max_consecutive_failures=3, concurrency=1)
        ratings = judge.rate([_req("x")] * 10)
        judge.close()
        assert len(server.requests) == 3 * 2  # three judgments x (try + retry), then nothing
    assert all(r.rating is None for r in ratings)
    assert "skipped: the endpoint failed 3 judgments in a row (last error: HTTP 500" in ratings[-1].error
    assert judge.stats.request_failures == 10


def test_a_success_resets_the_breaker(tmp_path):
    with FaultyChatServer({"bad": ["500"], "good": ["ok:[[6]]"]}) as server:
        judge = OpenAICompatJudge("m", server.base_url, api_key_env=None, max_retries=0,
                                  max_consecutive_failures=2, concurrency=1)
        ratings = judge.rate([_req("bad"), _req("good"), _req("bad"), _req("good")])
        judge.close()
    assert [r.rating for r in ratings] == [None, 6.0, None, 6.0]


def test_default_worst_case_per_judgment_is_about_a_minute_and_a_half_at_most():
    judge = OpenAICompatJudge("m", "http://127.0.0.1:9/v1", api_key_env=None)
    backoff = sum(min(judge.max_backoff_s, judge.backoff_s * 2 ** k) for k in range(judge.max_retries))
    assert judge.timeout_s * (judge.max_retries + 1) + backoff <= 100  # was 120 s x 5 tries + 15 s of backoff
    assert judge.max_consecutive_failures <= 5


def test_plain_http_key_warning_once_and_only_off_loopback(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("JUDGE_TEST_KEY", "sk-secret")
    monkeypatch.setattr(openai_compat, "_warned_plain_http", set(), raising=False)
    judge = OpenAICompatJudge("m", "http://judge.example.org:8000/v1", api_key_env="JUDGE_TEST_KEY")
    sent = []
    _no_network(monkeypatch, sent)
    ratings = judge.rate([_req("a"), _req("b")])
    judge.close()
    err = capsys.readouterr().err
    assert [r.rating for r in ratings] == [5.0, 5.0] and [r["auth"] for r in sent] == ["Bearer sk-secret"] * 2
    assert err.count("warning: sending the API key from $JUDGE_TEST_KEY over plain http://") == 1
    assert "sk-secret" not in err and "judge.example.org" in err
    for quiet in ("http://127.0.0.1:8000/v1", "http://localhost/v1", "http://[::1]:9/v1", "https://judge.example.org/v1"):
        assert not openai_compat.warn_plain_http_key(quiet, "JUDGE_TEST_KEY"), quiet
    assert capsys.readouterr().err == ""


def test_no_key_no_warning(monkeypatch, capsys):
    monkeypatch.delenv("JUDGE_TEST_KEY", raising=False)
    monkeypatch.setattr(openai_compat, "_warned_plain_http", set(), raising=False)
    judge = OpenAICompatJudge("m", "http://judge.example.org/v1", api_key_env="JUDGE_TEST_KEY")
    _no_network(monkeypatch, [])
    judge.rate([_req("a")])
    judge.close()
    assert "warning" not in capsys.readouterr().err


@pytest.mark.parametrize("bad", [{"timeout_s": 0}, {"max_retries": -1}, {"max_tokens": 0}])
def test_nonsense_settings_are_refused(bad):
    with pytest.raises(ValueError, match="timeout"):
        OpenAICompatJudge("m", "http://127.0.0.1:9/v1", api_key_env=None, **bad)


def test_eval_context_options_reach_the_judge(tmp_path):
    from types import SimpleNamespace

    from bench.judges import judge_for, judge_options

    assert judge_options({"judge_timeout": "12", "judge_retries": 0, "other": 1}) == {"timeout_s": 12.0, "max_retries": 0}
    ctx = SimpleNamespace(options={"judge_timeout": 3, "judge_retries": 1, "judge_max_tokens": 48,
                                   "judge_cache_dir": tmp_path}, judge=None, out_dir=tmp_path, _loaded={})
    ctx.judge = "openai:m@http://127.0.0.1:9/v1"
    judge, _ = judge_for(ctx, "mt_bench")
    assert (judge.timeout_s, judge.max_retries) == (3.0, 1)
    assert judge.payload([{"role": "user", "content": "q"}])["max_tokens"] == 48  # what is sent, and
    assert judge._cache_key["max_tokens"] == 48  # a shorter cap is a different verdict: not served from the cache
    judge.close()
    with pytest.raises(ValueError, match="applies to local judges only"):
        get_judge("openai:m@http://127.0.0.1:9/v1", rating="expected")
