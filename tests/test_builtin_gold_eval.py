"""The `gold` benchmark end to end with a tiny random model, and the embedded teacher's score (slow)."""
from __future__ import annotations

import json

import pytest

from bench.datasets import builtin
from bench.evals import EvalContext, get_benchmark
from bench.evals.gold import item_scores


def summarise(items, verdicts) -> dict[str, float]:
    return {m: sum(v.values()) / len(v) for m, v in item_scores([i.id for i in items], verdicts).items()}


def test_gold_benchmark_rows_answers_and_details(tmp_path):
    ctx = EvalContext("tiny-random", out_dir=tmp_path, limit=3, options={"max_new_tokens": 6, "batch_size": 2})
    result = get_benchmark("gold").run(ctx)
    by_metric = {r.metric: r for r in result.metrics}
    for metric in ("prompt_level_strict_acc", "prompt_level_loose_acc", "inst_level_strict_acc", "inst_level_loose_acc",
                   "two_turn/turn1_prompt_level_strict_acc", "two_turn/turn2_prompt_level_loose_acc"):
        assert 0.0 <= by_metric[metric].value <= 1.0, metric
    assert by_metric["prompt_level_strict_acc"].n_items == 3
    assert by_metric["inst_level_strict_acc"].n_items == sum(len(i.constraints) for i in builtin.test_prompts()[:3])
    # per-item scores: prompts for prompt-level metrics, constraints for instruction-level ones; 0/1 each
    ids = [i.id for i in builtin.test_prompts()[:3]]
    assert list(by_metric["prompt_level_strict_acc"].item_scores) == ids
    assert by_metric["prompt_level_strict_acc"].score_kind == "binary"
    assert len(by_metric["inst_level_strict_acc"].item_scores) == by_metric["inst_level_strict_acc"].n_items
    assert [s.item_id for s in result.samples] == ids and all(s.rationale.startswith("exact verifier") for s in result.samples)
    assert [s.rating for s in result.samples] == [by_metric["prompt_level_strict_acc"].item_scores[i] for i in ids]
    details = by_metric["prompt_level_strict_acc"].details
    assert details["judge"] == "gold (exact verifier)"
    assert details["data_version"] == "builtin-v1+seed0" and details["generation"]["max_new_tokens"] == 6
    assert details["chat_template"].startswith("ChatML (sha256:")
    lines = (tmp_path / "gold" / "answers.jsonl").read_text().splitlines()
    assert len(lines) == 3
    first = json.loads(lines[0])
    assert first["id"] == builtin.test_prompts()[0].id and "answer" in first and "failed" in first["verdict"]
    # the written verdicts are the verifier's own on the written answers
    for line, item in zip(lines, builtin.test_prompts()[:3]):
        row = json.loads(line)
        assert row["verdict"]["strict"] == builtin.verify(item, row["answer"]).strict
    two = [json.loads(x) for x in (tmp_path / "gold" / "two_turn.jsonl").read_text().splitlines()]
    assert len(two) == 3 and len(two[0]["turns"]) == 2
    assert not list((tmp_path / "gold").glob(".*tmp*"))


def test_summarise_against_hand_counts():
    items = builtin.test_prompts()[:4]
    answers = [items[0].reference, items[1].rejected, items[2].reference, "x"]
    verdicts = [builtin.verify(i, a) for i, a in zip(items, answers)]
    summary = summarise(items, verdicts)
    assert summary["prompt_level_strict_acc"] == pytest.approx(2 / 4)
    passed = sum(sum(c.strict for c in v.checks) for v in verdicts)
    assert summary["inst_level_strict_acc"] == pytest.approx(passed / sum(len(i.constraints) for i in items))


@pytest.mark.slow
@pytest.mark.timeout(1800)  # 8,000 generated tokens from the 135M teacher: minutes on 2 CPU cores
def test_embedded_teacher_is_neither_perfect_nor_hopeless():
    """SmolLM2-135M-Instruct, before any training, on 40 held-out prompts (greedy, 200 new tokens)."""
    from bench.models import load_model, load_tokenizer
    from methods.generate import generate_text

    items = builtin.test_prompts()[:40]
    model, tokenizer = load_model("smollm2-135m"), load_tokenizer("smollm2-135m")
    # One batch of 40: 200 decoding steps instead of 5 x 200 (50 s against 104 s here, the same four scores)
    answers = generate_text(model, tokenizer, [i.messages for i in items], max_new_tokens=200, batch_size=40)
    summary = summarise(items, [builtin.verify(i, a) for i, a in zip(items, answers)])
    print("embedded teacher on 40 held-out prompts:", summary)
    assert 0.1 <= summary["prompt_level_strict_acc"] <= 0.9
    assert 0.1 <= summary["prompt_level_loose_acc"] <= 0.9
