"""The Qwen2.5-Coder judges on a real llama.cpp server, expected-rating and greedy modes.

Slow, and skipped unless the GGUF has been assembled (``make judges``): `make test` never downloads 1.6 GB.
"""
from __future__ import annotations

import pytest

from bench.judges import RatingRequest, get_judge
from bench.judges.local_models import LOCAL_MODELS

pytestmark = pytest.mark.slow

PROMPT = ("[Instruction]\nPlease act as an impartial judge and evaluate the quality of the response provided by an AI "
          "assistant to the user question displayed below. Be as objective as possible. After providing your "
          "explanation, you must rate the response on a scale of 1 to 10 by strictly following this format: "
          "\"[[rating]]\", for example: \"Rating: [[5]]\".\n\n[Question]\nWhat is the capital of France?\n\n"
          "[The Start of Assistant's Answer]\n{answer}\n[The End of Assistant's Answer]")


def _messages(answer: str) -> list[dict]:
    return [{"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": PROMPT.format(answer=answer)}]


def _needs(judge_id: str):
    if not LOCAL_MODELS[judge_id].available():
        pytest.skip(f"{judge_id}: its GGUF is not assembled (run `make judges`; make test never downloads it)")


@pytest.mark.parametrize("judge_id", ["local-qwen0.5b", "local-qwen1.5b"])
def test_expected_rating_from_a_real_server(tmp_path, judge_id):
    _needs(judge_id)
    judge = get_judge(judge_id, cache_dir=tmp_path, log_dir=tmp_path)
    try:
        good, bad = judge.rate([RatingRequest(messages=_messages("The capital of France is Paris.")),
                                RatingRequest(messages=_messages("The capital of France is Berlin, a city in Spain."))])
    finally:
        judge.close()
    assert good.error is None and bad.error is None, (good.error, bad.error)
    assert 1.0 <= bad.rating <= 10.0 and 1.0 <= good.rating <= 10.0
    if judge_id == "local-qwen1.5b":  # the 0.5B rates both about 5.2 without its explanation: no such claim for it
        assert bad.rating < good.rating  # an obvious difference, seen in the probabilities
    assert "E[rating]=" in good.raw and judge.describe()["settings"]["rating_mode"] == "expected"
    assert judge.stats.requests_sent in (2, 3, 4)  # one or two looks per judgment ("1" may need the second)


def test_greedy_mode_is_still_available(tmp_path):
    _needs("local-qwen0.5b")
    judge = get_judge("local-qwen0.5b:greedy", cache_dir=tmp_path)
    try:
        [rating] = judge.rate([RatingRequest(messages=_messages("The capital of France is Paris."))])
    finally:
        judge.close()
    assert judge.id == "local-qwen0.5b:greedy" and rating.rating in {float(n) for n in range(1, 11)}
    assert f"[[{int(rating.rating)}]]" in rating.raw
