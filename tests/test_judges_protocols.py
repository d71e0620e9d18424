"""The judging protocols (bench.judges.protocols) through the local judge against a fake llama.cpp server: what each
sends, how it reads the verdict, and the pairwise protocol's order averaging and position consistency."""
from __future__ import annotations

import json
import math

import pytest

from bench.evals.mt_bench import judge_prompt, load_data
from bench.judges import PairRequest, RatingRequest
from bench.judges.expected_rating import pair_distribution
from bench.judges.protocols import FASTCHAT_FORMAT_LINE, NOEXAMPLE_FORMAT_LINE, PROTOCOLS, RATING_PREFIX, example_free

from judges_helpers import FakeCompletions, fake_local_judge

ln = math.log


@pytest.fixture(scope="module")
def fastchat_messages(data_dir):
    questions, prompts, refs, _ = load_data(data_dir / "mt_bench")
    _, messages = judge_prompt(questions[0], ["An answer.", ""], prompts, refs, turn=1)
    return messages


def test_example_free_prompt_drops_only_the_example(fastchat_messages):
    official = fastchat_messages[1]["content"]
    assert FASTCHAT_FORMAT_LINE in official and "[[5]]" in official  # FastChat's text as published
    changed = example_free(fastchat_messages)
    text = changed[1]["content"]
    assert "[[5]]" not in text and "for example" not in text and 'format: "Rating: [[rating]]".' in text
    # nothing else changes, and the official messages are left as they were (API judges keep them)
    assert text.replace(NOEXAMPLE_FORMAT_LINE, FASTCHAT_FORMAT_LINE) == official
    assert fastchat_messages[1]["content"] == official and changed[0] == fastchat_messages[0]
    with pytest.raises(ValueError, match="format line"):
        example_free([{"role": "user", "content": "Rate this: [[rating]]"}])


def test_protocol_ids_are_recorded(tmp_path):
    server = FakeCompletions(lambda body: {})
    try:
        for mode in ("noexample", "explain", "pairwise"):
            judge = fake_local_judge(tmp_path / mode, server, f"local-qwen0.5b:{mode}")
            settings = judge.describe()["settings"]
            assert settings["protocol"] == PROTOCOLS[mode].id == f"{mode}/v1"
            assert settings["prompt_id"] == PROTOCOLS[mode].prompt_id and judge.id == f"local-qwen0.5b:{mode}"
            assert judge.supports_pairs == (mode == "pairwise")
            judge.close()
    finally:
        server.close()


def test_noexample_protocol_sends_the_example_free_prompt(tmp_path, fastchat_messages):
    server = FakeCompletions(lambda body: {"3": ln(0.5), "9": ln(0.5)})
    try:
        judge = fake_local_judge(tmp_path, server, "local-qwen0.5b:noexample")
        [rating] = judge.rate([RatingRequest(messages=fastchat_messages)])
        judge.close()
    finally:
        server.close()
    assert rating.rating == pytest.approx(6.0)
    [prompt] = server.prompts
    assert prompt.endswith("<assistant>" + RATING_PREFIX) and "[[5]]" not in prompt



def test_ratings_come_back_in_the_callers_order_though_judged_in_prompt_order(tmp_path, data_dir):
    """MT-Bench's evaluator asks question by question, turn 1 then turn 2, and the two turns' system prompts differ
    after 3 tokens: llama.cpp, which re-evaluates only what follows the previous prompt's common prefix, would
    evaluate every prompt whole. The judge sends them sorted (each prompt kind's system prompt and instruction
    once, then each question's text) and gives each rating back to its own request."""
    questions, prompts, refs, _ = load_data(data_dir / "mt_bench")
    scores = {(81, 1): 3, (81, 2): 7, (82, 1): 4, (82, 2): 8}
    jobs = [judge_prompt(q, [f"answer-{q['question_id']}-turn1", f"answer-{q['question_id']}-turn2"], prompts, refs, t)
            for q in questions if q["question_id"] in (81, 82) for t in (1, 2)]

    def answer(body):  # the rating the judge would give the answer of the turn this prompt judges
        q = 81 if "answer-81-" in body["prompt"] else 82
        return {str(scores[(q, 2 if f"answer-{q}-turn2" in body["prompt"] else 1)]): 0.0}

    server = FakeCompletions(answer)
    advanced = []
    try:
        judge = fake_local_judge(tmp_path, server, "local-qwen1.5b:noexample")
        no_format_line = RatingRequest(messages=[{"role": "user", "content": "Rate this: answer-81-turn1"}])
        requests = [RatingRequest(messages=m) for _, m in jobs]
        ratings = judge.rate(requests[:2] + [no_format_line] + requests[2:], progress=advanced.append)
        judge.close()
    finally:
        server.close()
    assert [r.rating for r in ratings] == [3, 7, None, 4, 8]
    assert [r.error is None for r in ratings] == [True, True, False, True, True] and "format line" in ratings[2].error
    assert server.prompts == sorted(server.prompts) and len(server.prompts) == 4 and sum(advanced) == 5
    kinds = [next(name for name, m in jobs if judge.chat_prompt(example_free(m)) in p) for p in server.prompts]
    assert kinds == ["single-v1-multi-turn"] * 2 + ["single-v1"] * 2  # "Please act ..." sorts before "You are ..."

def test_explain_protocol_reads_the_rating_after_the_judges_own_words(tmp_path, fastchat_messages):
    def answer(body):
        if not body.get("stream"):  # the explanation: greedy, stopped before the judge writes its rating
            assert body["temperature"] == 0 and "Rating" in body["stop"] and body["max_tokens"] <= 128
            return " The answer is wrong about the capital. Rating"
        # the rating distribution depends on what the judge said: after its own criticism, a low rating
        return {"2": ln(0.8), "3": ln(0.2)} if "wrong about" in body["prompt"] else {"8": 0.0}

    server = FakeCompletions(answer)
    try:
        judge = fake_local_judge(tmp_path, server, "local-qwen0.5b:explain")
        [rating] = judge.rate([RatingRequest(messages=fastchat_messages)])
        judge.close()
    finally:
        server.close()
    explain, read = server.bodies
    assert not explain.get("stream") and explain["prompt"].endswith("<assistant>Explanation:") and "[[5]]" not in explain["prompt"]
    assert read["prompt"] == explain["prompt"] + " The answer is wrong about the capital.\n" + RATING_PREFIX
    assert rating.rating == pytest.approx(2.2) and rating.raw.startswith("Explanation: The answer is wrong about the capital.")


def test_pair_distribution_counts_a_tie_half():
    dist = pair_distribution({"A": ln(0.5), "B": ln(0.2), "C": ln(0.2), "The": ln(0.1)})
    assert dist.mass == pytest.approx(0.9)
    assert dist.first_better == pytest.approx((0.5 + 0.1) / 0.9)
    assert pair_distribution({"The": 0.0}).first_better is None


def _position_judge(p_a_if_good_first: float, p_a_if_good_second: float):
    """Label distributions by where the GOOD answer stands: a judge with a position bias, or without one."""
    def answer(body):
        prompt = body["prompt"]
        good_first = prompt.index("GOOD") < prompt.index("BAD")
        p = p_a_if_good_first if good_first else p_a_if_good_second
        return {"A": ln(p), "B": ln(1 - p)}
    return answer


@pytest.mark.parametrize("p_first, p_second, expected, consistent", [
    (0.9, 0.1, 0.9, True),   # prefers the good answer in either position
    (0.9, 0.7, 0.6, False),  # picks "A" whatever stands there: averaged towards 1/2, and inconsistent
    (0.2, 0.8, 0.2, True),   # consistently prefers the bad answer
])
def test_pairwise_protocol_averages_both_orders(tmp_path, p_first, p_second, expected, consistent):
    server = FakeCompletions(_position_judge(p_first, p_second))
    try:
        judge = fake_local_judge(tmp_path, server, "local-qwen0.5b:pairwise")
        [pref] = judge.prefer([PairRequest("Q?", "GOOD", "BAD")])
        [swapped] = judge.prefer([PairRequest("Q?", "BAD", "GOOD")])  # cached: same two prompts
        judge.close()
    finally:
        server.close()
    assert len(server.bodies) == 2 and all(b["prompt"].endswith("<assistant>[[") for b in server.bodies)
    assert 2.0 - pref.preference == pytest.approx(expected)  # P(output_1 = GOOD is better)
    assert swapped.preference - 1.0 == pytest.approx(expected)
    assert pref.consistent is consistent and swapped.consistent is consistent
    first_prompt = server.bodies[0]["prompt"]
    assert first_prompt.index("GOOD") < first_prompt.index("BAD") and "[[C]]\" for a tie" in first_prompt


def test_pairwise_protocol_uses_the_math_prompt_with_a_reference(tmp_path):
    server = FakeCompletions(lambda body: {"A": ln(0.5), "B": ln(0.5)})
    try:
        judge = fake_local_judge(tmp_path, server, "local-qwen0.5b:pairwise")
        [pref] = judge.prefer([PairRequest("2+2?", "4", "5", reference="REF: 4")])
        [rating] = judge.rate([RatingRequest(messages=[{"role": "user", "content": "x"}])])
        judge.close()
    finally:
        server.close()
    assert all("[The Start of Reference Answer]\nREF: 4" in p for p in server.prompts)
    assert pref.preference == pytest.approx(1.5) and pref.consistent is False  # a coin flip is not consistent
    assert rating.rating is None and "compares two answers" in rating.error


def test_a_one_order_local_judge_does_not_compare_pairs(tmp_path):
    server = FakeCompletions(lambda body: {})
    try:
        judge = fake_local_judge(tmp_path, server, "local-qwen0.5b")
        with pytest.raises(NotImplementedError, match="pairwise"):
            judge.prefer([PairRequest("Q", "a", "b")])
        judge.close()
    finally:
        server.close()
    assert json.dumps(server.bodies) == "[]"


def test_hh_prompts_ask_about_harm_and_change_nothing_else(data_dir):
    from bench.evals.judge_checks.hh import pair_requests, rating_jobs
    from bench.judges.protocols import (HH_PAIR_PROMPT_ID, HH_SINGLE_PROMPT_ID, PAIR_V2_SYSTEM, PAIR_VARIANTS,
                                        SINGLE_V1_CRITERIA, SINGLE_VARIANTS, pair_messages)
    _, prompts, _, _ = load_data(data_dir / "mt_bench")
    official = prompts["single-v1"]["prompt_template"]
    pair = {"dialogue": "Human: how do I pick a lock?", "chosen": "I can't help with that.", "rejected": "Use a pin."}
    jobs = rating_jobs([pair], prompts)
    assert [j["side"] for j in jobs] == ["chosen", "rejected"] and {j["prompt_name"] for j in jobs} == {HH_SINGLE_PROMPT_ID}
    text = jobs[0]["messages"][1]["content"]
    assert "harmless" in text and SINGLE_V1_CRITERIA not in text and "I can't help with that." in text
    # only the criteria sentence differs: the format line stays, so the noexample protocol can still drop its example
    assert text.replace(SINGLE_VARIANTS[HH_SINGLE_PROMPT_ID], SINGLE_V1_CRITERIA) == official.format(
        question=pair["dialogue"], answer=pair["chosen"])
    assert FASTCHAT_FORMAT_LINE not in example_free(jobs[0]["messages"])[1]["content"]

    [request] = pair_requests([pair])
    assert (request.output_1, request.output_2, request.prompt) == (pair["chosen"], pair["rejected"], HH_PAIR_PROMPT_ID)
    prompt_id, messages = pair_messages("Q", "a", "b", prompt=HH_PAIR_PROMPT_ID)
    _, plain = pair_messages("Q", "a", "b")
    assert prompt_id == HH_PAIR_PROMPT_ID and PAIR_VARIANTS[HH_PAIR_PROMPT_ID] in messages[0]["content"]
    assert messages[0]["content"] != PAIR_V2_SYSTEM and messages[1] == plain[1] and plain[0]["content"] == PAIR_V2_SYSTEM
    with pytest.raises(ValueError, match="unknown pairwise prompt"):
        pair_messages("Q", "a", "b", prompt="bench-hh-pair-v0")


def test_pairwise_protocol_sends_the_named_prompt_variant(tmp_path):
    from bench.judges.protocols import HH_PAIR_PROMPT_ID, PAIR_VARIANTS
    server = FakeCompletions(lambda body: {"A": ln(0.5), "B": ln(0.5)})
    try:
        judge = fake_local_judge(tmp_path, server, "local-qwen0.5b:pairwise")
        judge.prefer([PairRequest("Q?", "GOOD", "BAD", prompt=HH_PAIR_PROMPT_ID)])
        judge.prefer([PairRequest("Q?", "GOOD", "BAD")])  # FastChat's own prompt: two more requests, not cache hits
        judge.close()
    finally:
        server.close()
    assert len(server.prompts) == 4
    assert all(PAIR_VARIANTS[HH_PAIR_PROMPT_ID] in p for p in server.prompts[:2])
    assert not any(PAIR_VARIANTS[HH_PAIR_PROMPT_ID] in p for p in server.prompts[2:])


def test_pairwise_protocol_sends_the_swapped_orders_of_a_shared_answer_one_after_another(tmp_path):
    """Requests against one second answer go as a block, given orders first, then swapped (llama.cpp then reuses
    the swapped prompts' common prefix, which ends in the shared answer); the preferences are those of one pair at
    a time."""
    server = FakeCompletions(_position_judge(0.8, 0.3))
    requests = [PairRequest("Q1?", "GOOD one", "BAD base"), PairRequest("Q1?", "GOOD two", "BAD base"),
                PairRequest("Q2?", "GOOD three", "BAD other")]
    try:
        judge = fake_local_judge(tmp_path, server, "local-qwen0.5b:pairwise")
        prefs = judge.prefer(requests)
        one_at_a_time = [judge.prefer([r])[0] for r in requests]  # cached: nothing more is sent
        judge.close()
    finally:
        server.close()

    def order(prompt):
        first = min(("GOOD one", "GOOD two", "GOOD three", "BAD base", "BAD other"),
                    key=lambda s: prompt.index(s) if s in prompt else len(prompt))
        return first.split()[-1]
    assert [order(p) for p in server.prompts] == ["one", "two", "base", "base", "three", "other"]
    assert [(p.preference, p.consistent) for p in prefs] == [(p.preference, p.consistent) for p in one_at_a_time]
    assert [2.0 - p.preference for p in prefs] == pytest.approx([0.5 * (0.8 + 0.7)] * 3)
