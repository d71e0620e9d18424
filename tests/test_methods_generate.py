"""Batched generation: the CPU LM-head path computes the same product and leaves the model as it was."""
from __future__ import annotations

import torch

from methods.generate import generate_ids
from methods.lm_head import Fp32Linear, WeightMajorLinear, generation_lm_head, use_fp32_lm_head


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


def _reference(model, prompts, n):
    """Plain HF generation one prompt at a time, with the model's own head."""
    out = []
    with torch.no_grad():
        for p in prompts:
            ids = model.generate(input_ids=torch.tensor([p]), max_new_tokens=n, do_sample=False, pad_token_id=0,
                                 eos_token_id=None, top_k=None)
            out.append(ids[0, len(p):].tolist())
    return out


def test_generation_is_unchanged_and_the_head_is_restored():
    model = _tiny_model()
    prompts = [[5, 6, 7, 8, 9], [10, 11], [12, 13, 14]]
    reference = _reference(model, prompts, 12)
    for fp32_head in (False, True):  # a model trained or scored before keeps its fp32 head
        if fp32_head:
            use_fp32_lm_head(model)
        head = model.get_output_embeddings()
        assert generate_ids(model, prompts, pad_id=0, eos_id=-1, max_new_tokens=12, batch_size=3) == reference
        assert model.get_output_embeddings() is head and type(head) is (Fp32Linear if fp32_head else torch.nn.Linear)


def test_the_head_is_restored_when_generation_fails():
    model = _tiny_model()
    use_fp32_lm_head(model)
    head = model.get_output_embeddings()
    try:
        with generation_lm_head(model):
            assert isinstance(model.get_output_embeddings(), WeightMajorLinear)  # on CPU
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert model.get_output_embeddings() is head and type(head) is Fp32Linear


def test_samples_end_with_their_first_eos_kept():
    """Each sample is cut right after its first EOS, which it keeps (the training data's responses end with it)."""
    model = _tiny_model()
    prompts = [[5, 6, 7, 8, 9], [10, 11], [12, 13, 14]]
    free = _reference(model, prompts, 12)
    eos = free[0][3] if free[0][3] not in free[0][:3] else free[0][4]
    out = generate_ids(model, prompts, pad_id=0, eos_id=eos, max_new_tokens=12, batch_size=3)
    expected = [ref[: ref.index(eos) + 1] if eos in ref else ref for ref in free]
    assert out == expected and out[0][-1] == eos and len(out[0]) < 12
