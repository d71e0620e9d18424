"""The OpenAI-compatible judge client against a real HTTP server on loopback that misbehaves on purpose."""
from __future__ import annotations

from bench.judges import RatingRequest, get_judge
from bench.judges.openai_compat import OpenAICompatJudge
from bench.judges.parsing import parse_single_rating

from judges_helpers import FaultyChatServer


def _req(text: str) -> RatingRequest:
    return RatingRequest(messages=[{"role": "system", "content": "judge"}, {"role": "user", "content": text}])


def test_fastchat_parsing_matches_fastchat_rules():
    assert parse_single_rating("blah [[7]] and [[3]]") == 7.0  # the first [[x]] wins
    assert parse_single_rating("Rating: [[8.5]]") == 8.5
    assert parse_single_rating("only the backup [6] pattern") == 6.0
    assert parse_single_rating("no rating here") is None
    assert parse_single_rating("") is None


def test_retries_failures_and_cache(tmp_path, monkeypatch):
    script = {
        "flaky": ["500", "500", "ok:Explanation: fine. Rating: [[7]]"],  # recovers on the 3rd try
        "dead": ["500"],  # never recovers
        "slow": ["slow"],  # always past the timeout
        "garbage": ["garbage"],  # answers, but no rating
        "badjson": ["badjson"],
        "good": ["ok:[[10]]"],
    }
    monkeypatch.setenv("TEST_JUDGE_KEY", "sk-test-secret")
    with FaultyChatServer(script, slow_s=1.5) as server:
        def judge():
            return OpenAICompatJudge("fake-model", server.base_url, api_key_env="TEST_JUDGE_KEY", timeout_s=0.5,
                                     max_retries=2, backoff_s=0.01, concurrency=3, cache_path=tmp_path / "cache.sqlite")

        first = judge()
        ratings = first.rate([_req(k) for k in script])
        first.close()
        by_key = dict(zip(script, ratings))
        assert by_key["flaky"].rating == 7.0 and by_key["flaky"].error is None
        assert by_key["good"].rating == 10.0
        for failed in ("dead", "slow", "badjson"):
            assert by_key[failed].rating is None and by_key[failed].error.startswith("request:"), failed
        assert by_key["garbage"].rating is None and by_key["garbage"].error.startswith("parse:")
        assert by_key["garbage"].raw == "I think it is pretty good overall."
        stats = first.stats.as_dict()
        assert stats["request_failures"] == 3 and stats["parse_failures"] == 1
        assert stats["retries"] == 2 + 2 + 2 + 2  # flaky recovered after 2; dead, slow, badjson used both retries
        sent = len(server.requests)
        assert sent == stats["requests_sent"] == 3 + 3 + 3 + 3 + 1 + 1
        assert all(r["auth"] == "Bearer sk-test-secret" for r in server.requests)

        # A rerun sends nothing for what was answered (garbage included), and retries only the failures.
        second = judge()
        again = second.rate([_req(k) for k in ("flaky", "good", "garbage")])
        assert [r.rating for r in again] == [7.0, 10.0, None]
        assert len(server.requests) == sent
        assert second.stats.cache_hits == 3 and second.stats.requests_sent == 0
        second.close()

    # The key never reaches the cache file or the recorded settings.
    assert b"sk-test-secret" not in (tmp_path / "cache.sqlite").read_bytes()
    assert "sk-test-secret" not in str(first.describe())


def test_unreachable_server_is_counted_not_raised(tmp_path):
    judge = OpenAICompatJudge("m", "http://127.0.0.1:9/v1", api_key_env=None, timeout_s=0.5, max_retries=1, backoff_s=0.01)
    [rating] = judge.rate([_req("x")])
    assert rating.rating is None and rating.error.startswith("request:")
    assert judge.stats.request_failures == 1 and judge.stats.requests_sent == 2


def test_registry_parses_ids(tmp_path):
    judge = get_judge("openai:gpt-4o-mini@http://127.0.0.1:1/v1", cache_dir=tmp_path, api_key_env="MY_KEY")
    assert judge.id == "openai:gpt-4o-mini@http://127.0.0.1:1/v1"
    assert judge.settings["model"] == "gpt-4o-mini" and judge.settings["api_key_env"] == "MY_KEY"
    judge.close()
    assert get_judge("gold").describe()["id"] == "gold"
    import pytest

    with pytest.raises(ValueError, match="unknown judge"):
        get_judge("nonsense")
    with pytest.raises(ValueError, match="openai:<model>@<base_url>"):
        get_judge("openai:gpt-4")
