"""The expected rating: its arithmetic ("10" is two tokens) and the local judge's two-request protocol."""
from __future__ import annotations

import math

import pytest

from bench.judges import RatingRequest
from bench.judges.expected_rating import RATING_PREFIX, rating_distribution
from bench.judges.local import LocalJudge
from bench.judges.local_models import canonical_id, parse_local_id

from judges_helpers import FakeCompletions

ln = math.log


def test_expectation_over_one_digit_and_two_token_ten():
    first = {"5": ln(0.5), "1": ln(0.3), "8": ln(0.1), "Great": ln(0.1)}
    after_one = {"0": ln(0.5), "]]": ln(0.3), "]": ln(0.1), "2": ln(0.1)}  # "12" is off the scale: dropped
    dist = rating_distribution(first, after_one)
    raw = {5: 0.5, 8: 0.1, 1: 0.3 * 0.4, 10: 0.3 * 0.5}
    mass = sum(raw.values())
    assert dist.mass == pytest.approx(mass)
    assert dist.expected == pytest.approx(sum(r * p for r, p in raw.items()) / mass)
    assert dist.probabilities[10] == pytest.approx(0.15 / mass) and dist.probabilities[2] == 0
    assert sum(dist.probabilities.values()) == pytest.approx(1.0)


def test_ten_needs_the_second_token():
    certain_ten = rating_distribution({"1": 0.0}, {"0": 0.0})
    assert certain_ten.expected == pytest.approx(10.0)
    certain_one = rating_distribution({"1": 0.0}, {"]]": 0.0})
    assert certain_one.expected == pytest.approx(1.0)
    # Without the second look "1" cannot be split, so it is left out rather than guessed.
    assert rating_distribution({"1": ln(0.5), "7": ln(0.5)}, None).expected == pytest.approx(7.0)
    # A tokenizer with "10" as one token is counted too.
    assert rating_distribution({"10": ln(0.5), "6": ln(0.5)}, None).expected == pytest.approx(8.0)


def test_no_rating_mass_is_no_rating():
    dist = rating_distribution({"The": ln(0.995), "7": ln(0.005)}, None, min_mass=0.01)
    assert dist.expected is None and dist.mass == pytest.approx(0.005)
    assert rating_distribution({"The": 0.0}, None).expected is None


def test_local_ids_and_rating_modes():
    model, mode = parse_local_id("local-qwen1.5b")
    assert mode == "expected" and canonical_id(model, mode) == "local-qwen1.5b"
    model, mode = parse_local_id("local-qwen1.5b:greedy")
    assert mode == "greedy" and canonical_id(model, mode) == "local-qwen1.5b:greedy"
    assert parse_local_id("local-smollm2")[1] == "greedy"
    assert parse_local_id("openai:x@http://127.0.0.1/v1") is None
    with pytest.raises(ValueError, match="unknown rating mode"):
        parse_local_id("local-qwen0.5b:median")


def next_token_server(answers: dict[str, dict]) -> FakeCompletions:
    """A fake llama.cpp that streams one token whose top_logprobs are chosen by how the prompt ends."""
    def answer(body: dict) -> dict:
        assert body["stream"] and body["max_tokens"] == 1 and body["logprobs"] >= 10
        return answers["after_one" if body["prompt"].endswith("[[1") else "first"]

    return FakeCompletions(answer)


def _judge(tmp_path, server) -> LocalJudge:
    fake_gguf = tmp_path / "fake.gguf"
    fake_gguf.write_bytes(b"not a model: the server here is a fake")
    judge = LocalJudge("local-qwen0.5b", model_path=fake_gguf, cache_path=tmp_path / "cache.sqlite")
    judge.ensure_started = lambda: setattr(judge, "base_url", server.base_url) or server.base_url
    judge.chat_prompt = lambda messages: f"<chat>{messages[-1]['content']}</chat>"
    return judge


def test_local_judge_expected_mode_asks_twice_and_caches(tmp_path):
    server = next_token_server({"first": {"1": ln(0.4), "6": ln(0.6)}, "after_one": {"0": ln(0.5), "]]": ln(0.5)}})
    try:
        judge = _judge(tmp_path, server)
        assert judge.describe()["settings"]["rating_mode"] == "expected" and judge.server.logits_all
        [rating] = judge.rate([RatingRequest(messages=[{"role": "user", "content": "Q"}])])
        assert rating.error is None
        assert rating.rating == pytest.approx(0.6 * 6 + 0.2 * 1 + 0.2 * 10)
        assert server.prompts == [f"<chat>Q</chat>{RATING_PREFIX}", f"<chat>Q</chat>{RATING_PREFIX}1"]
        assert "E[rating]=" in rating.raw and "10:0.200" in rating.raw
        judge.close()
        again = _judge(tmp_path, server)  # same cache: nothing is sent
        [cached] = again.rate([RatingRequest(messages=[{"role": "user", "content": "Q"}])])
        assert cached.rating == rating.rating and len(server.prompts) == 2 and again.stats.cache_hits == 2
        again.close()
    finally:
        server.close()


def test_expected_mode_without_rating_tokens_is_a_parse_failure(tmp_path):
    server = next_token_server({"first": {"The": ln(0.999), "x": ln(0.001)}, "after_one": {}})
    try:
        judge = _judge(tmp_path, server)
        [rating] = judge.rate([RatingRequest(messages=[{"role": "user", "content": "Q"}])])
        judge.close()
    finally:
        server.close()
    assert rating.rating is None and rating.error.startswith("parse:") and judge.stats.parse_failures == 1
