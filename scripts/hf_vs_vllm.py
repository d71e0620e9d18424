"""Greedy answers of one model through Hugging Face and through vLLM, both in fp32, on a few chat prompts: prints
per prompt whether the token ids are equal and where they first differ; exit 1 when the first 16 tokens of any
answer differ (later tokens may diverge on near-ties in the logits)."""
from __future__ import annotations

import sys

PROMPTS = ["Write a Python function that reverses a string.", "What is the capital of France?",
           "Explain recursion in one sentence.", "List three prime numbers."]
MUST_MATCH = 16


def main(model_spec: str) -> int:
    import torch

    from bench.models import load_model, load_tokenizer
    from methods.generate import generate_ids
    from methods.tokenize import encode_prompt

    tokenizer = load_tokenizer(model_spec)
    model = load_model(model_spec, "frozen", dtype=torch.float32)
    prompts = [encode_prompt(tokenizer, [{"role": "user", "content": p}]) for p in PROMPTS]
    args = dict(pad_id=tokenizer.pad_token_id, eos_id=tokenizer.eos_token_id, max_new_tokens=64)
    hf = generate_ids(model, prompts, backend="hf", **args)
    vllm = generate_ids(model, prompts, backend="vllm", **args)
    worst = 0
    for prompt, a, b in zip(PROMPTS, hf, vllm):
        first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), None if len(a) == len(b) else min(len(a), len(b)))
        print(f"{'equal' if first is None else f'differ at token {first}'}: {prompt!r} ({len(a)} / {len(b)} tokens)")
        worst = max(worst, int(first is not None and first < MUST_MATCH))
    return worst


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
