"""MT-Bench: FastChat's judge-prompt choice and formats, scores computed from known ratings."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.evals import EvalContext, get_benchmark
from bench.evals.mt_bench import TEMPERATURES, judge_prompt, load_data
from bench.judges import close_judges

from judges_helpers import FaultyChatServer


def test_judge_prompts_follow_fastchat(data_dir):
    questions, prompts, refs, versions = load_data(data_dir / "mt_bench")
    assert len(questions) == 80 and {q["category"] for q in questions} >= {"writing", "math", "coding"}
    assert all(v.startswith(n) and "sha256:" in v for n, v in versions.items())
    assert TEMPERATURES["writing"] == 0.7 and TEMPERATURES["math"] == 0.0 and TEMPERATURES["stem"] == 0.1
    writing = next(q for q in questions if q["category"] == "writing")
    name, messages = judge_prompt(writing, ["A1", "A2"], prompts, refs, turn=1)
    assert name == "single-v1" and messages[0]["content"] == prompts["single-v1"]["system_prompt"]
    assert writing["turns"][0] in messages[1]["content"] and "A1" in messages[1]["content"] and "A2" not in messages[1]["content"]
    math_q = next(q for q in questions if q["category"] == "math")
    name, messages = judge_prompt(math_q, ["A1", "A2"], prompts, refs, turn=2)
    assert name == "single-math-v1-multi-turn"
    ref = refs[math_q["question_id"]]["choices"][0]["turns"]
    assert ref[0] in messages[1]["content"] and ref[1] in messages[1]["content"]
    assert "A1" in messages[1]["content"] and "A2" in messages[1]["content"]


def _scripted_judge(body):
    """Turn-1 prompts get [[8]], turn-2 prompts get [[4]], except that math turn 2 gets no rating."""
    user = body["messages"][-1]["content"]
    if "<|The Start of Assistant A's Conversation with User|>" in user:
        return "garbage" if "Reference Answer" in user else "ok:Explanation: fine. Rating: [[4]]"
    return "ok:Explanation: fine. Rating: [[8]]"


def test_mt_bench_scores_and_fastchat_files(tmp_path, data_dir):
    # Questions 81-90 are writing; take 2 of them plus math questions by limit on a reordered copy of the data.
    src = data_dir / "mt_bench"
    folder = tmp_path / "data" / "mt_bench"
    folder.mkdir(parents=True)
    questions = [json.loads(line) for line in (src / "question.jsonl").read_text().splitlines() if line.strip()]
    picked = [q for q in questions if q["category"] == "writing"][:2] + [q for q in questions if q["category"] == "math"][:1]
    (folder / "question.jsonl").write_text("".join(json.dumps(q) + "\n" for q in picked))
    for name in ("judge_prompts.jsonl", "reference_answer_gpt-4.jsonl"):
        (folder / name).write_text((src / name).read_text())
    with FaultyChatServer(_scripted_judge) as server:
        ctx = EvalContext("tiny-random", data_dir=tmp_path / "data", out_dir=tmp_path / "out", limit=3,
                          judge=f"openai:fake-judge@{server.base_url}",
                          options={"max_new_tokens": 8, "judge_cache_dir": tmp_path / "cache", "judge_api_key_env": "NO_SUCH_KEY"})
        try:
            result = get_benchmark("mt_bench").run(ctx)
            rows = {r.metric: r for r in result.metrics}
        finally:
            close_judges(ctx)
        assert len(server.requests) == 6  # the unparseable answer is an answer: no retry
    assert rows["turn1"].value == 8.0 and rows["turn1"].n_failures == 0 and rows["turn1"].n_items == 3
    assert rows["turn2"].value == 4.0 and rows["turn2"].n_failures == 1 and rows["turn2"].n_items == 2  # n = rated items
    # per-item scores keyed by (question, turn): the failed judgment is not an item
    qids = [q["question_id"] for q in picked]
    assert rows["average"].item_scores == {**{f"{q}/t1": 8.0 for q in qids}, **{f"{q}/t2": 4.0 for q in qids[:2]}}
    assert rows["average"].score_kind == "continuous"
    assert {s.item_id for s in result.samples} == {f"{q}/t{t}" for q in qids for t in (1, 2)}
    assert rows["average"].value == pytest.approx((8 * 3 + 4 * 2) / 5)  # the failure is not averaged in
    assert rows["category/math"].value == 8.0 and rows["category/math"].n_failures == 1
    details = rows["turn1"].details
    assert details["judge"]["id"].startswith("openai:fake-judge@") and details["judge"]["selected"] == "named with --judge"
    for key in ("data_version", "generation", "chat_template", "seed", "n_questions"):
        assert key in details
    answers = [json.loads(x) for x in Path(result.exports["answers"]).read_text().splitlines()]
    assert [a["question_id"] for a in answers] == [q["question_id"] for q in picked]
    assert all(len(a["choices"][0]["turns"]) == 2 and a["model_id"] == "tiny-random" for a in answers)
    judgments = [json.loads(x) for x in Path(result.exports["judgments"]).read_text().splitlines()]
    assert {(j["question_id"], j["turn"]) for j in judgments} == {(q["question_id"], t) for q in picked for t in (1, 2)}
    assert sorted(j["score"] for j in judgments) == [-1, 4, 4, 8, 8, 8]  # FastChat writes -1 for no rating
    assert all(set(j) >= {"question_id", "model", "judge", "user_prompt", "judgment", "score", "turn", "tstamp"} for j in judgments)


@pytest.mark.slow
def test_mt_bench_four_questions_with_the_local_judge(tmp_path, data_dir):
    ctx = EvalContext("tiny-random", data_dir=data_dir, out_dir=tmp_path / "out", limit=4,
                      options={"max_new_tokens": 16, "judge_cache_dir": tmp_path / "cache", "profile": "test"})
    try:
        result = get_benchmark("mt_bench").run(ctx)
        rows = {r.metric: r for r in result.metrics}
    finally:
        close_judges(ctx)
    for metric in ("turn1", "turn2"):
        row = rows[metric]
        assert row.n_items + row.n_failures == 4 and row.details["judge"]["id"] == "local-smollm2"
        assert row.details["judge"]["selected"] == "default judge of the test profile for mt_bench"
        assert row.n_failures < 4 and 1.0 <= row.value <= 10.0  # the grammar makes every answer parseable
    judgments = [json.loads(x) for x in Path(result.exports["judgments"]).read_text().splitlines()]
    assert len(judgments) == 8 and all(j["judge"][1].startswith("single-") for j in judgments)
    assert Path(result.exports["answers"]).is_file()
