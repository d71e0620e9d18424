"""How far ZeRO-3's bf16 mode is from the documented precision policy, on one batch (issue 21, item 3).

The policy (methods/precision.py): fp32 weights, the forward under bf16 autocast, the LM head in fp32. DeepSpeed's
bf16 mode (configs/accelerate/zero3.yaml, ``mixed_precision: bf16``) instead runs the forward on bf16 *weights* (its
fp32 master copies live in the optimiser): the residual stream, norms and embeddings are bf16 too, and the LM head,
which methods.lm_head still computes in fp32, multiplies bf16-rounded weights. DPO's reference log-probs are scored
before training with the policy's numerics, so under ZeRO-3 the margin no longer starts at exactly 0.

This script measures, on one batch of preference pairs (chosen for SFT's NLL, chosen + rejected for DPO), the loss
under three numerics: fp32 everywhere, the policy (autocast over fp32 weights), and ZeRO-3's (bf16 weights, fp32 head).
It runs on the CPU (bf16 matmuls are emulated there, slowly, but round as on a GPU) or on a GPU:
    python scripts/zero3_precision_effect.py [--model smollm2-135m] [--pairs 8] [--device cpu]
"""
from __future__ import annotations

import argparse
import copy
import math
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
NUMERICS = ("fp32", "policy: fp32 weights + bf16 autocast", "zero3: bf16 weights, fp32 head")


def _forward_losses(model, sft_batch, dpo_batch, numerics: str, beta: float) -> dict:
    from methods.base import LossConfig
    from methods.devices import model_device
    from methods.precision import autocast
    from methods.registry import get_method

    device = model_device(model)
    if numerics.startswith("zero3"):
        model = copy.deepcopy(model).to(torch.bfloat16)  # what the engine's forward sees; the head stays fp32 math
    with torch.no_grad(), autocast(numerics.startswith("policy"), device):
        nll, _ = get_method("sft").compute_loss(model, sft_batch, LossConfig())
        dpo, metrics = get_method("dpo").compute_loss(model, dpo_batch, LossConfig(beta=beta))
    return {"sft_nll": float(nll), "dpo_loss": float(dpo), "dpo_margin": float(metrics["rewards/margins"])}


def measure(model, tokenizer, n_pairs: int = 8, beta: float = 0.1) -> dict:
    """{numerics: {"sft_nll", "dpo_loss", "dpo_margin"}} on one batch of ``n_pairs`` built-in test pairs, DPO's
    reference log-probs scored with the policy's numerics (as bench's train stage does before training)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from methods_helpers import preference_examples, sft_examples

    from methods.batching import PairCollator, SFTCollator
    from methods.devices import to_model_device
    from methods.examples import attach_ref_logps, response_view
    from methods.topk import precompute_sequence_logps

    pad = tokenizer.pad_token_id
    examples = preference_examples(tokenizer, n_pairs)
    chosen = precompute_sequence_logps(model, response_view(examples, "chosen"), pad, bf16_autocast=True)
    rejected = precompute_sequence_logps(model, response_view(examples, "rejected"), pad, bf16_autocast=True)
    examples = attach_ref_logps(examples, chosen, rejected)
    sft_batch = to_model_device(SFTCollator(pad)(sft_examples(tokenizer, n_pairs)), model)
    dpo_batch = to_model_device(PairCollator(pad)(examples), model)
    return {n: _forward_losses(model, sft_batch, dpo_batch, n, beta) for n in NUMERICS}


def table(results: dict, n_pairs: int, model_name: str) -> str:
    base = results[NUMERICS[0]]
    lines = [f"one batch of {n_pairs} pairs, {model_name}; DPO beta 0.1, reference log-probs scored with the policy's numerics",
             f"{'numerics':<40} {'SFT NLL':>10} {'d vs fp32':>10} {'DPO loss':>10} {'- log 2':>10} {'margin':>10}"]
    for name, r in results.items():
        lines.append(f"{name:<40} {r['sft_nll']:10.5f} {r['sft_nll'] - base['sft_nll']:10.2e} {r['dpo_loss']:10.6f} "
                     f"{r['dpo_loss'] - math.log(2):10.2e} {r['dpo_margin']:10.2e}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--pairs", type=int, default=8)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    from bench.models import load_model, load_tokenizer

    torch.manual_seed(0)
    model = load_model(args.model, "trainable", device=args.device)
    print(table(measure(model, load_tokenizer(args.model), args.pairs), args.pairs, args.model))
    return 0


if __name__ == "__main__":
    sys.exit(main())
