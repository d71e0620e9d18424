"""Reward scoring: raw logits, batching equal to one-at-a-time, the accuracy metrics against hand computations."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from bench.evals import EvalContext, get_benchmark
from bench.evals.reward import implicit_reward_accuracy
from bench.judges.base import PairRequest, RatingRequest
from bench.judges.reward_model import RewardModelJudge, RewardScorer, render_chat

PAIRS = [
    {"prompt": [{"role": "user", "content": "Name a colour."}],
     "chosen": [{"role": "assistant", "content": "Blue."}], "rejected": [{"role": "assistant", "content": "Seven."}]},
    {"prompt": [{"role": "user", "content": "Say hi in French, please, briefly and politely."}],
     "chosen": [{"role": "assistant", "content": "Bonjour !"}],
     "rejected": [{"role": "assistant", "content": "Hello there, my friend, how are you doing today?"}]},
    {"prompt": [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "2+2?"}],
     "chosen": [{"role": "assistant", "content": "4"}], "rejected": [{"role": "assistant", "content": "5"}]},
    {"prompt": [{"role": "user", "content": "A fruit?"}],
     "chosen": [{"role": "assistant", "content": "An apple."}], "rejected": [{"role": "assistant", "content": "A chair."}]},
]


@pytest.fixture(scope="module")
def tiny_rm(tmp_path_factory) -> Path:
    """An untrained tiny reward model folder (random head on the tiny random Llama)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from bench.models import materialise

    folder = tmp_path_factory.mktemp("tiny_rm")
    torch.manual_seed(3)
    model = AutoModelForSequenceClassification.from_pretrained(materialise("tiny-random"), num_labels=1)
    tokenizer = AutoTokenizer.from_pretrained(materialise("tiny-random"))
    tokenizer.pad_token = "<|endoftext|>"
    model.config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _manual_score(scorer: RewardScorer, prompt, response) -> float:
    """One sequence, no padding: the head's output at the last token, read directly."""
    ids = scorer.tokenizer(render_chat(scorer.tokenizer, prompt, response), add_special_tokens=True).input_ids
    with torch.no_grad():
        return float(scorer.model(input_ids=torch.tensor([ids])).logits[0, 0])


def test_scores_are_raw_logits_and_batching_changes_nothing(tiny_rm: Path):
    scorer = RewardScorer(tiny_rm, batch_size=3)
    prompts = [p["prompt"] for p in PAIRS] * 2
    responses = [p["chosen"][0]["content"] for p in PAIRS] + [p["rejected"][0]["content"] for p in PAIRS]
    scores = scorer.score(prompts, responses)
    assert all(math.isfinite(s) for s in scores)
    manual = [_manual_score(scorer, p, r) for p, r in zip(prompts, responses)]
    assert scores == pytest.approx(manual, abs=1e-5)
    assert any(s < 0 for s in scores) or any(s > 1 for s in scores) or len(set(scores)) > 1  # not squashed to (0, 1)


def test_rendering_uses_the_rm_template_and_never_doubles_bos(tiny_rm: Path):
    scorer = RewardScorer(tiny_rm)
    text = scorer.render(PAIRS[0]["prompt"], "Blue.")
    assert text.startswith("<|im_start|>") and text.rstrip().endswith("Blue.<|im_end|>")  # SmolLM2 adds no BOS itself

    class BosTokenizer:  # a Llama-3-like tokenizer: the template writes BOS and the tokenizer adds one too
        bos_token, bos_token_id = "<s>", 1

        def __call__(self, text, add_special_tokens=True):
            return type("E", (), {"input_ids": [1, 5, 6]})()

        def apply_chat_template(self, messages, tokenize=False):
            return "<s>" + "".join(f"[{m['role']}]{m['content']}" for m in messages)

    assert render_chat(BosTokenizer(), [{"role": "user", "content": "q"}], "a") == "[user]q[assistant]a"


def test_reward_judge_prefers_the_higher_score(tiny_rm: Path):
    judge = RewardModelJudge(tiny_rm)
    requests = [PairRequest(p["prompt"][-1]["content"], p["chosen"][0]["content"], p["rejected"][0]["content"]) for p in PAIRS]
    prefs = judge.prefer(requests)
    for req, pref in zip(requests, prefs):
        prompt = [{"role": "user", "content": req.instruction}]
        a, b = judge.scorer.score([prompt, prompt], [req.output_1, req.output_2])
        assert pref.preference == (1.0 if a > b else 2.0)
    rating = judge.rate([RatingRequest(messages=PAIRS[0]["prompt"], response="Blue.")])[0]
    assert rating.rating == pytest.approx(_manual_score(judge.scorer, PAIRS[0]["prompt"], "Blue."), abs=1e-5)
    assert judge.describe()["id"] == f"reward:{tiny_rm}" and judge.stats.request_failures == 0


def test_implicit_reward_accuracy_by_hand():
    # margins (pc - rc) - (pr - rr): 1 - 0 > 0 yes; 0 vs 0 tie -> no; -1 - 1 -> no; 3 - 2.5 -> yes
    assert implicit_reward_accuracy([1, 0, -1, 3], [0, 0, 1, 2.5], [0, 0, 0, 0], [0, 0, 0, 0]) == 0.5
    assert implicit_reward_accuracy([-5.0], [-6.0], [-4.0], [-7.0]) == 0.0  # chosen gained 1 less than the reference


def _hand_logp(model, tokenizer, prompt, response: str) -> float:
    """Summed log p(response tokens + EOS | chat prompt), one sequence at a time."""
    prompt_ids = tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=True, return_dict=True)["input_ids"]
    response_ids = tokenizer.encode(response, add_special_tokens=False) + [tokenizer.eos_token_id]
    ids = torch.tensor([list(prompt_ids) + response_ids])
    with torch.no_grad():
        logprobs = torch.log_softmax(model(input_ids=ids).logits[0].float(), -1)
    return sum(float(logprobs[len(prompt_ids) + i - 1, t]) for i, t in enumerate(response_ids))


class _FakeSource:
    name = "fake_pairs"

    def preference(self, split="train", data_dir=None):
        return [dict(p) for p in PAIRS]


@pytest.mark.slow
def test_reward_benchmark_metrics_match_hand_computation(tiny_rm: Path, tmp_path: Path, monkeypatch):
    from bench import datasets
    from bench.models import load_model, load_tokenizer

    monkeypatch.setitem(datasets.SOURCES, "fake_pairs", _FakeSource())
    ctx = EvalContext(model_spec="tiny-random", out_dir=tmp_path, limit=3, options={
        "reward_dataset": "fake_pairs", "reward_model": str(tiny_rm), "reference_model": "tiny-random-teacher",
        "max_new_tokens": 6})
    rows = {r.metric: r for r in get_benchmark("reward").run(ctx).metrics}
    assert set(rows) == {"score", "accuracy", "rm_accuracy_vs_rejected"}

    policy, tokenizer = load_model("tiny-random"), load_tokenizer("tiny-random")
    reference = load_model("tiny-random-teacher")
    wins = []
    for pair in PAIRS[:3]:
        lp = {side: _hand_logp(policy, tokenizer, pair["prompt"], pair[side][0]["content"]) for side in ("chosen", "rejected")}
        lr = {side: _hand_logp(reference, tokenizer, pair["prompt"], pair[side][0]["content"]) for side in ("chosen", "rejected")}
        wins.append(lp["chosen"] - lr["chosen"] > lp["rejected"] - lr["rejected"])
    assert rows["accuracy"].value == pytest.approx(sum(wins) / 3) and rows["accuracy"].n_items == 3

    answers = [json.loads(line) for line in (tmp_path / "reward" / "answers.jsonl").read_text().splitlines()]
    scorer = RewardScorer(tiny_rm)
    hand = [_manual_score(scorer, PAIRS[i]["prompt"], a["output"]) for i, a in enumerate(answers)]
    hand_rejected = [_manual_score(scorer, p["prompt"], p["rejected"][0]["content"]) for p in PAIRS[:3]]
    assert rows["score"].value == pytest.approx(sum(hand) / 3, abs=1e-5) and rows["score"].n_items == 3
    assert rows["rm_accuracy_vs_rejected"].value == pytest.approx(sum(h > r for h, r in zip(hand, hand_rejected)) / 3)
    assert rows["score"].details["judge"]["settings"]["output"].startswith("raw logit")
    assert rows["score"].details["generation"]["max_new_tokens"] == 6


def test_missing_reference_and_unavailable_reward_model_are_reported(tmp_path: Path, monkeypatch):
    from bench import datasets

    monkeypatch.setitem(datasets.SOURCES, "fake_pairs", _FakeSource())
    ctx = EvalContext(model_spec="tiny-random", out_dir=tmp_path, limit=2,
                      options={"reward_dataset": "fake_pairs", "reward_model": "someone/not-downloaded-rm"})
    rows = {r.metric: r for r in get_benchmark("reward").run(ctx).metrics}
    assert rows["accuracy"].value is None and "reference model" in rows["accuracy"].missing_reason
    assert rows["score"].value is None and "someone/not-downloaded-rm" in rows["score"].missing_reason
    assert rows["rm_accuracy_vs_rejected"].value is None


def test_a_model_that_is_its_own_reference_has_no_reward_accuracy(tmp_path: Path, monkeypatch):
    from bench import datasets

    monkeypatch.setitem(datasets.SOURCES, "fake_pairs", _FakeSource())
    ctx = EvalContext(model_spec="tiny-random", out_dir=tmp_path, limit=2, options={
        "reward_dataset": "fake_pairs", "reward_model": "someone/not-downloaded-rm", "reference_model": "tiny-random"})
    rows = {r.metric: r for r in get_benchmark("reward").run(ctx).metrics}
    assert rows["accuracy"].value is None and "same weights" in rows["accuracy"].missing_reason
