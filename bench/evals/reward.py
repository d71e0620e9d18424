"""Reward scoring (method spec, section 5): greedy answers to validation prompts, scored by a reward model.

Metrics (benchmark ``reward``):
- ``score``: mean raw reward (the reward model's logit, no activation) of the model's greedy answers to the
  validation prompts: the preference data set's test split, each pair's prompt (``ctx.limit`` first ones).
  Generation: chat template with the generation prompt, greedy, max 512 new tokens, stop at EOS.
- ``accuracy``: the spec's reward accuracy (as in SimPO / TRL's ``rewards/accuracies``): on the test split's
  preference pairs, the fraction where the implicit reward beta*log(pi/pi_ref) of the chosen response is
  higher than that of the rejected one (beta > 0 does not change the comparison; a tie counts as wrong;
  log-probs are summed over response tokens). Needs ``ctx.options['reference_model']``; without it the row is
  missing, with that reason.
- ``rm_accuracy_vs_rejected``: the RM-based variant: the fraction of prompts where the reward model scores the
  model's answer above the data set's rejected response.
- ``rm_heldout_accuracy`` (embedded reward model only): the reward model's own held-out pair accuracy.

Options read from ``ctx.options``: ``reward_model`` (a sequence-classification model: alias, hub id or folder;
default ``sfairXC/FsfairX-LLaMA3-RM-v0.1`` in the paper profile, else ``embedded`` = the project's reward model
trained on the built-in pairs, see reward_model_train), ``reward_dataset`` (default ``builtin``),
``reference_model``, ``max_new_tokens`` (512), ``generation_batch_size`` (8), ``reward_batch_size`` (8).
"""
from __future__ import annotations

import hashlib
import json
import math
import statistics
import time
from pathlib import Path

from methods.generate import generate_text
from methods.tokenize import Lengths, tokenize_preference
from methods.topk import precompute_sequence_logps

from bench import stats
from bench.datasets import DataUnavailable, get_source
from bench.io import write_jsonl
from bench.judges.reward_model import RewardScorer
from bench.models import ModelUnavailable, load_model
from bench.results.schema import BINARY, CONTINUOUS

from . import register
from .base import Benchmark, BenchmarkResult, EvalContext, MetricResult, Sample
from .reward_model_train import RewardModelRecipe, embedded_reward_model

BENCHMARK = "reward"
PAPER_REWARD_MODEL = "sfairXC/FsfairX-LLaMA3-RM-v0.1"
EMBEDDED = "embedded"
MAX_NEW_TOKENS = 512


def implicit_reward_wins(policy_chosen: list[float], policy_rejected: list[float],
                         ref_chosen: list[float], ref_rejected: list[float]) -> list[float]:
    """Per pair 1.0 when log(pi/pi_ref)(chosen) > log(pi/pi_ref)(rejected) (beta > 0 cancels; a tie is a loss)."""
    return [float((pc - rc) > (pr - rr)) for pc, pr, rc, rr in zip(policy_chosen, policy_rejected, ref_chosen, ref_rejected)]


def implicit_reward_accuracy(policy_chosen: list[float], policy_rejected: list[float],
                             ref_chosen: list[float], ref_rejected: list[float]) -> float:
    wins = implicit_reward_wins(policy_chosen, policy_rejected, ref_chosen, ref_rejected)
    return sum(wins) / len(wins)


def pair_logps(model, tokenizer, pairs: list[dict]) -> tuple[list[float], list[float]]:
    """Summed response log-probs of chosen and rejected, tokenised as the training methods tokenise them."""
    lengths = Lengths(max_length=2048, max_prompt_length=1536)
    tok = [tokenize_preference(tokenizer, p, lengths, "reward:pairs", i) for i, p in enumerate(pairs)]
    chosen = precompute_sequence_logps(model, [{"prompt_ids": t["prompt_ids"], "response_ids": t["chosen_ids"]} for t in tok],
                                       tokenizer.pad_token_id)
    rejected = precompute_sequence_logps(model, [{"prompt_ids": t["prompt_ids"], "response_ids": t["rejected_ids"]} for t in tok],
                                         tokenizer.pad_token_id)
    return chosen, rejected


def _reward_model_spec(ctx: EvalContext) -> str:
    default = PAPER_REWARD_MODEL if ctx.options.get("profile") == "paper" else EMBEDDED
    return str(ctx.options.get("reward_model") or default)


def _load_reward_model(ctx: EvalContext, dataset: str, rows: list[MetricResult], base: dict):
    """(scorer, description) or (None, reason). Appends the embedded model's held-out accuracy row."""
    spec = _reward_model_spec(ctx)
    batch = int(ctx.options.get("reward_batch_size", 8))
    if spec != EMBEDDED:
        try:
            return RewardScorer(spec, batch_size=batch, precision=ctx.precision), None
        except (ModelUnavailable, OSError, ValueError) as err:
            return None, f"reward model {spec} unavailable: {err}"

    recipe = RewardModelRecipe(**ctx.options.get("reward_model_recipe", {}))
    trained = embedded_reward_model(ctx.data_dir, recipe, dataset=dataset)
    k = round(trained.heldout_accuracy * trained.n_heldout) if trained.heldout_accuracy is not None else None
    rows.append(MetricResult(
        BENCHMARK, "rm_heldout_accuracy", trained.heldout_accuracy, n_items=trained.n_heldout,
        interval=stats.wilson(k, trained.n_heldout) if k is not None and trained.n_heldout else None,
        details={**base, "reward_model": str(trained.path), "reward_model_key": trained.key,
                 "from_cache": trained.from_cache, "train_time_s": trained.train_time_s, "n_train": trained.n_train,
                 "recipe": trained.info.get("recipe"), "data_version": trained.info.get("data_version"),
                 "definition": "fraction of held-out (test split) pairs the reward model scores chosen > rejected"}))
    return RewardScorer(trained.path, batch_size=batch, precision=ctx.precision), None


def _accuracy_row(ctx: EvalContext, model, tokenizer, pairs: list[dict], ids: list[str], base: dict) -> MetricResult:
    """The spec's reward accuracy: implicit rewards against the reference model (options reference_model)."""
    reference = ctx.options.get("reference_model")
    if not reference:
        return MetricResult(BENCHMARK, "accuracy", None, details=base, missing_reason=(
            "implicit-reward accuracy needs a reference model (options reference_model=...): none given"))

    ref_model = load_model(str(reference), "frozen", ctx.precision)
    pc, pr = pair_logps(model, tokenizer, pairs)
    rc, rr = pair_logps(ref_model, tokenizer, pairs)
    del ref_model
    details = {**base, "reference_model": str(reference),
               "definition": "fraction of test pairs with log(pi/pi_ref)(chosen) > log(pi/pi_ref)(rejected)"}
    if all(p == r for p, r in zip(pc + pr, rc + rr)):
        return MetricResult(BENCHMARK, "accuracy", None, n_items=len(pairs), details=details, missing_reason=(
            "the model scores every pair exactly as its reference does (the same weights): implicit rewards are all 0"))
    wins = dict(zip(ids, implicit_reward_wins(pc, pr, rc, rr)))
    return MetricResult(BENCHMARK, "accuracy", sum(wins.values()) / len(wins), n_items=len(wins), details=details,
                        item_scores=wins, score_kind=BINARY)


def _score_answers(ctx: EvalContext, scorer, model, tokenizer, pairs, max_new: int):
    prompts = [p["prompt"] for p in pairs]
    started = time.perf_counter()
    with ctx.progress("reward: answering", len(prompts), "prompts") as task:
        answers = generate_text(model, tokenizer, prompts, max_new_tokens=max_new, temperature=0.0,
                                batch_size=int(ctx.options.get("generation_batch_size", 8)), progress=task.advance)
    gen_time = time.perf_counter() - started
    with ctx.progress("reward: scoring", 2 * len(prompts), "answers") as task:
        scores = scorer.score(prompts, answers, progress=task.advance)
        rejected = scorer.score(prompts, [p["rejected"][0]["content"] for p in pairs], progress=task.advance)
    return answers, scores, rejected, gen_time


def run(ctx: EvalContext) -> BenchmarkResult:
    dataset = str(ctx.options.get("reward_dataset", "builtin"))
    max_new = int(ctx.option(BENCHMARK, "max_new_tokens", MAX_NEW_TOKENS))
    generation = {"do_sample": False, "temperature": 0.0, "top_p": 1.0, "max_new_tokens": max_new,
                  "chat_template": "model's own, with generation prompt", "stop": "model EOS"}
    base = {"dataset": dataset, "split": "test", "limit": ctx.limit, "seed": ctx.seed, "generation": generation}
    try:
        pairs = get_source(dataset).preference("test", ctx.data_dir)
    except (DataUnavailable, ValueError) as err:
        reason = f"validation data {dataset}:test unavailable: {err}"
        return BenchmarkResult(BENCHMARK, [MetricResult(BENCHMARK, m, None, missing_reason=reason, details=base)
                                           for m in ("score", "accuracy")])
    pairs = pairs[: ctx.limit] if ctx.limit is not None else pairs
    ids = [f"{dataset}:test/{i}" for i in range(len(pairs))]
    base["data_version"] = _pairs_version(pairs)
    model, tokenizer = ctx.model_and_tokenizer()
    generation["chat_template_sha256"] = hashlib.sha256(str(tokenizer.chat_template).encode()).hexdigest()[:16]
    rows = [_accuracy_row(ctx, model, tokenizer, pairs, ids, base)]
    scorer, reason = _load_reward_model(ctx, dataset, rows, base)
    if scorer is None:
        rows.insert(0, MetricResult(BENCHMARK, "score", None, missing_reason=reason, details=base))
        rows.append(MetricResult(BENCHMARK, "rm_accuracy_vs_rejected", None, missing_reason=reason, details=base))
        return BenchmarkResult(BENCHMARK, rows)
    answers, scores, rejected, gen_time = _score_answers(ctx, scorer, model, tokenizer, pairs, max_new)
    scorer_info = scorer.describe()
    scorer.close()
    path = Path(ctx.out_dir) / "reward" / "answers.jsonl"
    write_jsonl(path, [{"index": i, "prompt": p["prompt"], "output": a, "reward": s, "rejected_reward": r}
                       for i, (p, a, s, r) in enumerate(zip(pairs, answers, scores, rejected))])
    details = {**base, "judge": {"id": f"reward:{scorer_info['reward_model']}", "kind": "reward_model", "settings": scorer_info},
               "generation_time_s": round(gen_time, 1)}
    finite = {i: s for i, s in zip(ids, scores) if math.isfinite(s)}
    rows.insert(0, MetricResult(BENCHMARK, "score", statistics.fmean(finite.values()) if finite else None,
                                n_items=len(finite), n_failures=len(scores) - len(finite),
                                missing_reason=None if finite else "no finite reward", details=details,
                                item_scores=finite or None, score_kind=CONTINUOUS if finite else None))
    wins = {i: float(s > r) for i, s, r in zip(ids, scores, rejected) if math.isfinite(s) and math.isfinite(r)}
    rows.append(MetricResult(BENCHMARK, "rm_accuracy_vs_rejected", statistics.fmean(wins.values()) if wins else None,
                             n_items=len(wins), n_failures=len(scores) - len(wins),
                             missing_reason=None if wins else "no finite reward", item_scores=wins or None,
                             score_kind=BINARY if wins else None,
                             details={**details, "definition": "fraction of prompts where RM(model answer) > RM(data set's rejected response)"}))
    samples = [Sample(BENCHMARK, i, p["prompt"][-1]["content"], a, s, f"reward {s:.4g} (the data set's rejected answer: {r:.4g})")
               for i, p, a, s, r in zip(ids, pairs, answers, scores, rejected)]
    return BenchmarkResult(BENCHMARK, rows, samples, {"answers": str(path)})


def _pairs_version(pairs: list[dict]) -> str:
    h = hashlib.sha256()
    for p in pairs:
        h.update(json.dumps(p, sort_keys=True).encode())
    return h.hexdigest()[:16]


register(Benchmark(BENCHMARK, "mean reward-model score of greedy answers (+ reward accuracy), method spec section 5", run,
                   ("reward_model", "reward_dataset", "reward_model_recipe", "max_new_tokens", "generation_batch_size", "reward_batch_size")))
