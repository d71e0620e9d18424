"""Generation dispatch: the Hugging Face path and the vLLM path give the same records.

vLLM itself cannot run here (no CUDA): a fake ``vllm`` module stands in for it. Its engine answers the way vLLM's
does (``RequestOutput.outputs[0].token_ids``, ``finish_reason``, ``stop_reason``; the stop token in the ids or
not), computing the tokens by plain one-prompt-at-a-time Hugging Face greedy decoding from the model folder it is
given, so the records the dispatch returns can be compared with the batched HF path's.
"""
from __future__ import annotations

import sys
import types
from dataclasses import dataclass, field

import pytest
import torch

from methods import vllm_backend
from methods.generate import generate_ids, hf_generate_ids

PROMPTS = [[5, 6, 7], [8, 9], [10, 11, 12, 13], [14]]
MAX_NEW = 6


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=97, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, max_position_embeddings=128, tie_word_embeddings=True)
    path = tmp_path_factory.mktemp("gen") / "model"
    LlamaForCausalLM(config).save_pretrained(path)
    return path


def _load(folder):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()


@dataclass
class Completion:
    token_ids: list
    finish_reason: str
    stop_reason: int | None = None


@dataclass
class RequestOutput:
    outputs: list


@dataclass
class FakeVLLM:
    """A ``vllm`` module: records how it was called; its engine decodes greedily with the HF model in ``model``."""
    stop_token_in_ids: bool = True
    calls: dict = field(default_factory=dict)

    def module(self) -> types.ModuleType:
        fake = self
        mod = types.ModuleType("vllm")

        class SamplingParams:
            def __init__(self, **kwargs):
                self.__dict__.update(kwargs)
                fake.calls["sampling"] = kwargs

        class LLM:
            def __init__(self, **kwargs):
                fake.calls["engine"] = kwargs
                self.model = _load(kwargs["model"])

            def generate(self, prompts, params, use_tqdm=True):
                fake.calls["prompts"] = prompts
                return [RequestOutput([self._one(p["prompt_token_ids"], params)]) for p in prompts]

            @torch.no_grad()
            def _one(self, prompt, params):
                ids = self.model.generate(input_ids=torch.tensor([prompt]), max_new_tokens=params.max_tokens,
                                          do_sample=False, eos_token_id=None, pad_token_id=0, top_k=None)[0, len(prompt):].tolist()
                for i, token in enumerate(ids):
                    if token in params.stop_token_ids:
                        kept = ids[: i + 1] if fake.stop_token_in_ids else ids[:i]
                        return Completion(kept, "stop", token)
                return Completion(ids, "length")

        mod.LLM, mod.SamplingParams = LLM, SamplingParams
        return mod


@pytest.fixture()
def fake_vllm(monkeypatch):
    def install(**kwargs) -> FakeVLLM:
        fake = FakeVLLM(**kwargs)
        monkeypatch.setitem(sys.modules, "vllm", fake.module())
        monkeypatch.setattr(vllm_backend, "vllm_available", lambda: True)
        monkeypatch.setattr(torch.cuda, "mem_get_info", lambda *a: (40 * 2**30, 80 * 2**30))
        vllm_backend.release()
        return fake
    yield install
    vllm_backend.release()


def _eos_that_occurs(model) -> int:
    """A token the greedy continuation of the first prompt emits third: used as EOS, so records get cut."""
    return hf_generate_ids(model, PROMPTS[:1], pad_id=0, eos_id=-1, max_new_tokens=MAX_NEW)[0][2]


def test_on_cpu_auto_is_the_hf_path_even_with_vllm_installed(folder, fake_vllm):
    fake = fake_vllm()
    model = _load(folder)
    eos = _eos_that_occurs(model)
    expected = hf_generate_ids(model, PROMPTS, pad_id=0, eos_id=eos, max_new_tokens=MAX_NEW, batch_size=2)
    assert generate_ids(model, PROMPTS, pad_id=0, eos_id=eos, max_new_tokens=MAX_NEW, batch_size=2) == expected
    assert not fake.calls, "auto must not start vLLM for a CPU model"
    assert any(r[-1] == eos and len(r) < MAX_NEW for r in expected), "no record was cut at EOS: the test checks nothing"


@pytest.mark.parametrize("stop_token_in_ids", [True, False])
def test_vllm_records_equal_the_hf_records(folder, fake_vllm, stop_token_in_ids):
    fake = fake_vllm(stop_token_in_ids=stop_token_in_ids)
    model = _load(folder)
    eos = _eos_that_occurs(model)
    expected = hf_generate_ids(model, PROMPTS, pad_id=0, eos_id=eos, max_new_tokens=MAX_NEW, batch_size=3)
    seen = []
    got = generate_ids(model, PROMPTS, pad_id=0, eos_id=eos, max_new_tokens=MAX_NEW, backend="vllm", progress=seen.append)
    assert got == expected
    assert seen == [len(PROMPTS)]
    engine, sampling = fake.calls["engine"], fake.calls["sampling"]
    assert engine["model"] == str(folder) and engine["dtype"] == "float32" and engine["trust_remote_code"] is False
    assert 0 < engine["gpu_memory_utilization"] <= 0.5  # a share of the free half of the (faked) GPU memory
    assert sampling["temperature"] == 0.0 and sampling["max_tokens"] == MAX_NEW
    assert sampling["stop_token_ids"] == [eos] and sampling["ignore_eos"] is True
    assert fake.calls["prompts"] == [{"prompt_token_ids": p} for p in PROMPTS]


def test_sampling_settings_reach_vllm(folder, fake_vllm):
    fake = fake_vllm()
    generate_ids(_load(folder), PROMPTS[:1], pad_id=0, eos_id=-1, max_new_tokens=3, temperature=0.7, top_p=0.9, seed=5,
                 backend="vllm")
    sampling = fake.calls["sampling"]
    assert (sampling["temperature"], sampling["top_p"], sampling["seed"], sampling["stop_token_ids"]) == (0.7, 0.9, 5, [])


def test_records_from_vllm_outputs():
    out = [RequestOutput([Completion([4, 9, 2, 7], "length")]), RequestOutput([Completion([4, 5], "stop", 2)]),
           RequestOutput([Completion([4, 5, 6], "length")])]
    assert vllm_backend.to_records(out, eos_id=2) == [[4, 9, 2], [4, 5, 2], [4, 5, 6]]


def test_backend_choice_is_checked(folder, monkeypatch):
    model = _load(folder)
    with pytest.raises(ValueError, match="auto, hf or vllm"):
        generate_ids(model, PROMPTS, pad_id=0, eos_id=1, backend="vlm")
    monkeypatch.setattr(vllm_backend, "vllm_available", lambda: False)
    with pytest.raises(RuntimeError, match="not installed"):
        generate_ids(model, PROMPTS, pad_id=0, eos_id=1, backend="vllm")
