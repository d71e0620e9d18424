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
import os
import statistics
import time
from pathlib import Path

from . import register
from .base import Benchmark, EvalContext, MetricResult

BENCHMARK = "reward"
PAPER_REWARD_MODEL = "sfairXC/FsfairX-LLaMA3-RM-v0.1"
EMBEDDED = "embedded"
MAX_NEW_TOKENS = 512


def implicit_reward_accuracy(policy_chosen: list[float], policy_rejected: list[float],
                             ref_chosen: list[float], ref_rejected: list[float]) -> float:
    """Fraction of pairs with log(pi/pi_ref)(chosen) > log(pi/pi_ref)(rejected); beta > 0 cancels."""
    wins = [(pc - rc) > (pr - rr) for pc, pr, rc, rr in zip(policy_chosen, policy_rejected, ref_chosen, ref_rejected)]
    return sum(wins) / len(wins)


def pair_logps(model, tokenizer, pairs: list[dict]) -> tuple[list[float], list[float]]:
    """Summed response log-probs of chosen and rejected, tokenised as the training methods tokenise them."""
    from methods.tokenize import Lengths, tokenize_preference
    from methods.topk import precompute_sequence_logps

    lengths = Lengths(max_length=2048, max_prompt_length=1536)
    tok = [tokenize_preference(tokenizer, p, lengths, "reward:pairs", i) for i, p in enumerate(pairs)]
    chosen = precompute_sequence_logps(model, [{"prompt_ids": t["prompt_ids"], "response_ids": t["chosen_ids"]} for t in tok],
                                       tokenizer.pad_token_id)
    rejected = precompute_sequence_logps(model, [{"prompt_ids": t["prompt_ids"], "response_ids": t["rejected_ids"]} for t in tok],
                                         tokenizer.pad_token_id)
    return chosen, rejected


def _write_jsonl_atomic(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    os.replace(tmp, path)


def _reward_model_spec(ctx: EvalContext) -> str:
    default = PAPER_REWARD_MODEL if ctx.options.get("profile") == "paper" else EMBEDDED
    return str(ctx.options.get("reward_model") or default)


def _load_reward_model(ctx: EvalContext, dataset: str, rows: list[MetricResult], base: dict):
    """(scorer, description) or (None, reason). Appends the embedded model's held-out accuracy row."""
    from bench.judges.reward_model import RewardScorer
    from bench.models import ModelUnavailable

    spec = _reward_model_spec(ctx)
    batch = int(ctx.options.get("reward_batch_size", 8))
    if spec != EMBEDDED:
        try:
            return RewardScorer(spec, batch_size=batch), None
        except (ModelUnavailable, OSError, ValueError) as err:
            return None, f"reward model {spec} unavailable: {err}"
    from .reward_model_train import RewardModelRecipe, embedded_reward_model

    recipe = RewardModelRecipe(**ctx.options.get("reward_model_recipe", {}))
    trained = embedded_reward_model(ctx.data_dir, recipe, dataset=dataset)
    rows.append(MetricResult(
        BENCHMARK, "rm_heldout_accuracy", trained.heldout_accuracy, n_items=trained.n_heldout,
        details={**base, "reward_model": str(trained.path), "reward_model_key": trained.key,
                 "from_cache": trained.from_cache, "train_time_s": trained.train_time_s, "n_train": trained.n_train,
                 "recipe": trained.info.get("recipe"), "data_version": trained.info.get("data_version"),
                 "definition": "fraction of held-out (test split) pairs the reward model scores chosen > rejected"}))
    return RewardScorer(trained.path, batch_size=batch), None


def run(ctx: EvalContext) -> list[MetricResult]:
    from tqdm.auto import tqdm

    from bench.datasets import DataUnavailable, get_source
    from methods.generate import generate_text

    dataset = str(ctx.options.get("reward_dataset", "builtin"))
    max_new = int(ctx.options.get("max_new_tokens", MAX_NEW_TOKENS))
    generation = {"do_sample": False, "temperature": 0.0, "top_p": 1.0, "max_new_tokens": max_new,
                  "chat_template": "model's own, with generation prompt", "stop": "model EOS"}
    base = {"dataset": dataset, "split": "test", "limit": ctx.limit, "seed": ctx.seed, "generation": generation}
    try:
        pairs = get_source(dataset).preference("test", ctx.data_dir)
    except (DataUnavailable, ValueError) as err:
        reason = f"validation data {dataset}:test unavailable: {err}"
        return [MetricResult(BENCHMARK, m, None, missing_reason=reason, details=base) for m in ("score", "accuracy")]
    if ctx.limit is not None:
        pairs = pairs[: ctx.limit]
    base["data_version"] = _pairs_version(pairs)
    rows: list[MetricResult] = []
    model, tokenizer = ctx.model_and_tokenizer()
    generation["chat_template_sha256"] = hashlib.sha256(str(tokenizer.chat_template).encode()).hexdigest()[:16]

    # The spec's reward accuracy: implicit rewards against a reference model.
    reference = ctx.options.get("reference_model")
    if reference:
        from bench.models import load_model

        ref_model = load_model(str(reference))
        pc, pr = pair_logps(model, tokenizer, pairs)
        rc, rr = pair_logps(ref_model, tokenizer, pairs)
        del ref_model
        identical = all(p == r for p, r in zip(pc + pr, rc + rr))
        rows.append(MetricResult(BENCHMARK, "accuracy", None if identical else implicit_reward_accuracy(pc, pr, rc, rr),
                                 n_items=len(pairs), missing_reason=(
                                     "the model scores every pair exactly as its reference does (the same weights): "
                                     "implicit rewards are all 0") if identical else None,
                                 details={**base, "reference_model": str(reference),
                                          "definition": "fraction of test pairs with log(pi/pi_ref)(chosen) > log(pi/pi_ref)(rejected)"}))
    else:
        rows.append(MetricResult(BENCHMARK, "accuracy", None, details=base, missing_reason=(
            "implicit-reward accuracy needs a reference model (options reference_model=...): none given")))

    scorer, reason = _load_reward_model(ctx, dataset, rows, base)
    if scorer is None:
        rows.insert(0, MetricResult(BENCHMARK, "score", None, missing_reason=reason, details=base))
        rows.append(MetricResult(BENCHMARK, "rm_accuracy_vs_rejected", None, missing_reason=reason, details=base))
        return rows

    prompts = [p["prompt"] for p in pairs]
    started = time.perf_counter()
    with tqdm(total=len(prompts), desc="reward: generating answers") as bar:
        answers = generate_text(model, tokenizer, prompts, max_new_tokens=max_new, temperature=0.0,
                                batch_size=int(ctx.options.get("generation_batch_size", 8)), progress=bar.update)
    gen_time = time.perf_counter() - started
    with tqdm(total=2 * len(prompts), desc="reward: scoring") as bar:
        scores = scorer.score(prompts, answers, progress=bar.update)
        rejected = scorer.score(prompts, [p["rejected"][0]["content"] for p in pairs], progress=bar.update)
    scorer_info = scorer.describe()
    scorer.close()
    finite = [s for s in scores if math.isfinite(s)]
    failures = len(scores) - len(finite)
    _write_jsonl_atomic(Path(ctx.out_dir) / "reward" / "answers.jsonl", [
        {"index": i, "prompt": p, "output": a, "reward": s, "rejected_reward": r}
        for i, (p, a, s, r) in enumerate(zip(prompts, answers, scores, rejected))])
    judge = {"id": f"reward:{scorer_info['reward_model']}", "kind": "reward_model", "settings": scorer_info}
    details = {**base, "judge": judge, "generation_time_s": round(gen_time, 1)}
    rows.insert(0, MetricResult(
        BENCHMARK, "score", statistics.fmean(finite) if finite else None, n_items=len(scores), n_failures=failures,
        stderr=(statistics.stdev(finite) / math.sqrt(len(finite))) if len(finite) > 1 else None,
        missing_reason=None if finite else "no finite reward", details=details))
    wins = [s > r for s, r in zip(scores, rejected) if math.isfinite(s) and math.isfinite(r)]
    rows.append(MetricResult(
        BENCHMARK, "rm_accuracy_vs_rejected", (sum(wins) / len(wins)) if wins else None, n_items=len(scores),
        n_failures=len(scores) - len(wins), missing_reason=None if wins else "no finite reward",
        details={**details, "definition": "fraction of prompts where RM(model answer) > RM(data set's rejected response)"}))
    return rows


def _pairs_version(pairs: list[dict]) -> str:
    h = hashlib.sha256()
    for p in pairs:
        h.update(json.dumps(p, sort_keys=True).encode())
    return h.hexdigest()[:16]


register(Benchmark(BENCHMARK, "mean reward-model score of greedy answers (+ reward accuracy), method spec section 5", run))
