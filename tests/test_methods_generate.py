"""Batched generation: the CPU LM-head path computes the same product and leaves the model as it was."""
from __future__ import annotations

import torch

from methods.generate import WeightMajorLinear, fast_cpu_lm_head, generate_ids


def test_weight_major_linear_equals_linear_with_and_without_bias():
    torch.manual_seed(0)
    for bias in (True, False):
        linear = torch.nn.Linear(24, 300, bias=bias)
        x = torch.randn(3, 5, 24)
        torch.testing.assert_close(WeightMajorLinear(linear)(x), linear(x), rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(WeightMajorLinear(linear)(x[:, -1:]), linear(x[:, -1:]), rtol=1e-5, atol=1e-5)


def _tiny_model():
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=97, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, max_position_embeddings=128, tie_word_embeddings=True)
    return LlamaForCausalLM(config).eval()


def test_generation_is_unchanged_and_the_head_is_restored():
    model = _tiny_model()
    head = model.get_output_embeddings()
    prompts = [[5, 6, 7, 8, 9], [10, 11], [12, 13, 14]]
    with_fast_head = generate_ids(model, prompts, pad_id=0, eos_id=-1, max_new_tokens=12, batch_size=3)
    assert model.get_output_embeddings() is head and type(head) is torch.nn.Linear

    # The reference: the plain head (fast_cpu_lm_head is what generate_ids uses; bypass it by generating one by one
    # through HF directly).
    reference = []
    with torch.no_grad():
        for p in prompts:
            out = model.generate(input_ids=torch.tensor([p]), max_new_tokens=12, do_sample=False, pad_token_id=0,
                                 eos_token_id=None, top_k=None)
            reference.append(out[0, len(p):].tolist())
    assert with_fast_head == reference


def test_the_head_is_restored_when_generation_fails():
    model = _tiny_model()
    head = model.get_output_embeddings()
    try:
        with fast_cpu_lm_head(model):
            assert isinstance(model.get_output_embeddings(), WeightMajorLinear)
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert model.get_output_embeddings() is head
