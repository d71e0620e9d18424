"""Generation: batched, KV-cached, left-padded with the Hugging Face model, or through vLLM (methods.vllm_backend)
when it is installed and the model is on a CUDA device. Both give the same records: per prompt, the response token
ids cut after the first EOS (kept)."""
from __future__ import annotations

from typing import Callable, Sequence

import torch

from . import vllm_backend
from .devices import to_model_device
from .lm_head import generation_lm_head
from .sampling import GenerationSettings, PerItemSampler, hf_generate_kwargs, item_seed
from .tokenize import encode_prompt


def generate_ids(model, prompt_ids: Sequence[Sequence[int]], pad_id: int, eos_id: int, max_new_tokens: int = 256,
                 batch_size: int = 8, temperature: float = 0.0, top_p: float = 1.0, seed: int = 0,
                 progress: Callable[[int], None] | None = None, backend: str = "auto") -> list[list[int]]:
    """Response token ids for every prompt, cut after the first EOS (kept, as the training data expects).

    ``backend``: "auto" (vLLM for a CUDA model when vLLM is installed, else Hugging Face), "hf" or "vllm".
    """
    if vllm_backend.usable(model, backend):
        out = vllm_backend.generate_ids(model, prompt_ids, eos_id, max_new_tokens, temperature, top_p, seed)
        if progress:
            progress(len(out))
        return out
    return hf_generate_ids(model, prompt_ids, pad_id, eos_id, max_new_tokens, batch_size, temperature, top_p, seed, progress)


@torch.no_grad()
def hf_generate_ids(model, prompt_ids: Sequence[Sequence[int]], pad_id: int, eos_id: int, max_new_tokens: int = 256,
                    batch_size: int = 8, temperature: float = 0.0, top_p: float = 1.0, seed: int = 0,
                    progress: Callable[[int], None] | None = None, first_item: int = 0) -> list[list[int]]:
    """The Hugging Face path. Prompts are sorted by length so a batch holds similar lengths; results come back in
    input order. With ``temperature > 0`` prompt i's sample comes from its own stream, item_seed(seed, first_item + i)
    (methods.sampling): the same whatever the batch size or the other prompts (``first_item``: the place of the first
    prompt in a larger list that is sampled in parts, as the processes of one training step sample theirs)."""
    from transformers import LogitsProcessorList

    settings = GenerationSettings(max_new_tokens, eos_id, temperature, top_p)
    model.eval()
    order = sorted(range(len(prompt_ids)), key=lambda i: -len(prompt_ids[i]))
    out: list[list[int] | None] = [None] * len(prompt_ids)
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        width = max(len(prompt_ids[i]) for i in idx)
        input_ids = torch.full((len(idx), width), pad_id, dtype=torch.long)
        attention_mask = torch.zeros((len(idx), width), dtype=torch.long)
        for row, i in enumerate(idx):
            ids = torch.as_tensor(prompt_ids[i], dtype=torch.long)
            input_ids[row, width - len(ids) :] = ids
            attention_mask[row, width - len(ids) :] = 1
        # Sampling: each row draws from its own stream, seeded by (seed, the prompt's index), as vLLM's requests do
        sampler = None if settings.greedy else PerItemSampler([item_seed(seed, first_item + i) for i in idx], temperature,
                                                              top_p)
        inputs = to_model_device({"input_ids": input_ids, "attention_mask": attention_mask}, model)
        with generation_lm_head(model):
            generated = model.generate(
                **inputs, pad_token_id=pad_id, use_cache=True, **hf_generate_kwargs(settings),
                **({"logits_processor": LogitsProcessorList([sampler])} if sampler else {}),
            )[:, width:].tolist()
        for row, i in enumerate(idx):
            tokens = generated[row]
            if eos_id in tokens:
                tokens = tokens[: tokens.index(eos_id) + 1]
            out[i] = tokens
        if progress:
            progress(len(idx))
    return out


def within_length(response: Sequence[int], prompt: Sequence[int], max_length: int) -> list[int]:
    """A generated response cut so that prompt + response fit ``max_length`` tokens (at least one response token
    kept), as tokenisation cuts the data set's answers: the samples stage and the on-policy redraws cut alike."""
    return list(response[: max(1, max_length - len(prompt))])


def generate_text(model, tokenizer, prompts: Sequence[list[dict]], max_new_tokens: int = 256, batch_size: int = 8,
                  temperature: float = 0.0, top_p: float = 1.0, seed: int = 0,
                  progress: Callable[[int], None] | None = None, backend: str = "auto") -> list[str]:
    """Chat prompts (lists of messages) -> response strings, rendered with the model's chat template."""
    prompt_ids = [encode_prompt(tokenizer, p) for p in prompts]
    ids = generate_ids(model, prompt_ids, tokenizer.pad_token_id, tokenizer.eos_token_id, max_new_tokens, batch_size,
                       temperature, top_p, seed, progress, backend)
    return [tokenizer.decode(t, skip_special_tokens=True).strip() for t in ids]
