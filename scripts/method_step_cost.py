"""Per-step cost of every registered method's compute_loss + backward on one student, CPU, synthetic pairs.

    python scripts/method_step_cost.py                       # smollm2-8l (the embedded student), 1 pair per micro-batch
    python scripts/method_step_cost.py --pairs 2 --repeats 7

One micro-batch as the embedded recipe trains (batch_size 1: one pair = two sequences, prompt 64 + response 40 tokens,
teacher top-K 50 on both responses, or one sequence of 104 tokens for SFT); each method's loss forward and backward
timed ``--repeats`` times after one warm-up round, round-robin over the methods, median reported in ms with the ratio to DPO's. The loss inputs are
random but valid (top-K ids, probabilities, advantages, reference log-probs): the cost does not depend on their values.
Stage-level costs (sampling, teacher top-K on samples) are not in it: see the run's stage table.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

K = 50


def main() -> int:
    from bench.models import load_model, load_tokenizer
    from methods.base import LossConfig
    from methods.registry import METHODS

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="smollm2-8l")
    p.add_argument("--pairs", type=int, default=1)
    p.add_argument("--prompt", type=int, default=64)
    p.add_argument("--response", type=int, default=40)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    torch.manual_seed(0)
    tokenizer = load_tokenizer(args.model)
    model = load_model(args.model, "trainable").train()
    vocab = model.get_output_embeddings().weight.shape[0]
    g = torch.Generator().manual_seed(0)
    ids = lambda n: torch.randint(100, vocab, (n,), generator=g).tolist()  # noqa: E731

    def topk(n):
        probs = torch.softmax(torch.randn(n, K + 1, generator=g) * 2, -1).sort(-1, descending=True).values
        return {"ids": torch.randint(0, vocab, (n, K), generator=g), "probs": probs[:, :K].contiguous(),
                "tail": probs[:, K].contiguous(), "advantages": torch.randn(n, K, generator=g)}

    batches = {}
    for name, method in METHODS.items():
        examples = []
        for _ in range(args.pairs):
            prompt, chosen, other = ids(args.prompt), ids(args.response), ids(args.response)
            if method.data == "sft":
                examples.append({"prompt_ids": prompt, "response_ids": chosen})
                continue
            e = {"prompt_ids": prompt, "chosen_ids": chosen, f"{method.second}_ids": other,
                 "ref_chosen_logps": -80.0, "ref_rejected_logps": -90.0}
            for side in ("chosen", method.second):
                e[f"{side}_teacher_topk"] = topk(args.response)
            e["sample_advantages"] = topk(args.response)
            examples.append(e)
        batches[name] = method.collator(tokenizer.pad_token_id)(examples)
    cfg = LossConfig(beta=0.1)
    times = {name: [] for name in METHODS}
    # Round-robin over the methods, so load from other processes on a shared machine falls on all of them alike.
    for i in range(args.repeats + 1):
        for name, method in METHODS.items():
            model.zero_grad(set_to_none=True)
            start = time.perf_counter()
            loss, _ = method.compute_loss(model, batches[name], cfg)
            loss.backward()
            if i:  # the first round is a warm-up
                times[name].append(time.perf_counter() - start)
    rows = [(name, 1000 * statistics.median(t), 1000 * min(t)) for name, t in times.items()]
    dpo = dict((n, t) for n, t, _ in rows)["dpo"]
    dpo_min = dict((n, t) for n, _, t in rows)["dpo"]
    print(f"{args.model}: {args.pairs} pair(s) per micro-batch, prompt {args.prompt} + response {args.response} tokens, "
          f"top-K {K}, median of {args.repeats}, torch threads {torch.get_num_threads()}")
    print("| method | ms per micro-batch (median) | min | median / DPO | min / DPO |")
    print("|---|--:|--:|--:|--:|")
    for name, med, low in rows:
        print(f"| {name} | {med:.0f} | {low:.0f} | {med / dpo:.2f} | {low / dpo_min:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
