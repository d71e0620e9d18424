"""`heldout`: cheap, deterministic, judge-free scores on held-out preference pairs (the preference data's test split).

- ``chosen_nll``: the chosen answer's negative log-likelihood per token (lower is better);
- ``pair_accuracy``: how often the chosen answer is likelier per token than the rejected one.
Pairs are tokenised exactly as the training methods tokenise them, and scored by the same sequence log-prob code
as the DPO reference (methods.topk.precompute_sequence_logps). Options: ``heldout_source`` (builtin),
``heldout_lengths`` ({max_length, max_prompt_length}).
"""
from __future__ import annotations

from methods.examples import response_view
from methods.tokenize import Lengths, tokenize_preference
from methods.topk import precompute_sequence_logps

from bench.datasets import get_source
from bench.results.schema import BINARY, CONTINUOUS

from . import register
from .base import Benchmark, BenchmarkResult, EvalContext, MetricResult

BENCHMARK = "heldout"


def run(ctx: EvalContext) -> BenchmarkResult:
    source = str(ctx.options.get("heldout_source", "builtin"))
    lengths = Lengths(**(ctx.options.get("heldout_lengths") or {}))
    pairs = get_source(source).preference("test", ctx.data_dir)
    pairs = pairs[: ctx.limit] if ctx.limit else pairs
    model, tokenizer = ctx.model_and_tokenizer()
    examples = [tokenize_preference(tokenizer, p, lengths, f"{source}:test", i) for i, p in enumerate(pairs)]
    ids = [f"{source}:test/{i}" for i in range(len(examples))]
    means = {}
    with ctx.progress("held-out pairs", 2 * len(examples), "answers") as task:
        for side in ("chosen", "rejected"):
            view = response_view(examples, side)
            sums = precompute_sequence_logps(model, view, tokenizer.pad_token_id)
            means[side] = [s / max(len(e["response_ids"]), 1) for s, e in zip(sums, view)]
            task.advance(len(view))
    nll = {i: -c for i, c in zip(ids, means["chosen"])}
    wins = {i: float(c > r) for i, c, r in zip(ids, means["chosen"], means["rejected"])}
    details = {"dataset": f"held-out preference pairs ({source}, test split)", "lengths": vars(lengths)}
    return BenchmarkResult(BENCHMARK, [
        MetricResult(BENCHMARK, "chosen_nll", sum(nll.values()) / len(nll), len(nll), details=details,
                     item_scores=nll, score_kind=CONTINUOUS, higher_is_better=False),
        MetricResult(BENCHMARK, "pair_accuracy", sum(wins.values()) / len(wins), len(wins), details=details,
                     item_scores=wins, score_kind=BINARY)])


register(Benchmark(BENCHMARK, "held-out preference pairs: chosen NLL per token and per-token pair accuracy (no judge)", run,
                   ("heldout_source", "heldout_lengths")))
