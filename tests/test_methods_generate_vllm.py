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
from methods.sampling import PerItemSampler, hf_view, item_seed

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
                fake.calls.setdefault("requests", []).append(kwargs)
                fake.calls["sampling"] = kwargs

        class LLM:
            def __init__(self, **kwargs):
                fake.calls["engine"] = kwargs
                self.model = _load(kwargs["model"])

            def generate(self, prompts, params, use_tqdm=True):
                fake.calls["prompts"] = prompts
                params = params if isinstance(params, list) else [params] * len(prompts)  # vLLM takes one or one each
                assert len(params) == len(prompts)
                return [RequestOutput([self._one(p["prompt_token_ids"], sp)]) for p, sp in zip(prompts, params)]

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


def test_sampling_settings_reach_vllm_with_one_seed_per_request(folder, fake_vllm):
    """Each request gets its own seed, item_seed(run seed, prompt index): before, every request got the run seed."""
    fake = fake_vllm()
    generate_ids(_load(folder), PROMPTS, pad_id=0, eos_id=-1, max_new_tokens=3, temperature=0.7, top_p=0.9, seed=5,
                 backend="vllm")
    requests = fake.calls["requests"]
    assert [r["seed"] for r in requests] == [item_seed(5, i) for i in range(len(PROMPTS))]
    assert len({r["seed"] for r in requests}) == len(PROMPTS)
    assert all((r["temperature"], r["top_p"], r["stop_token_ids"]) == (0.7, 0.9, []) for r in requests)


class Recording(torch.nn.Module):
    """A model whose generate() records the arguments the HF path passes, then runs the real generate."""

    def __init__(self, model):
        super().__init__()
        self.inner, self.calls = model, []

    def generate(self, **kwargs):
        self.calls.append(kwargs)
        return self.inner.generate(**kwargs)

    def get_output_embeddings(self):
        return None


@pytest.mark.parametrize("temperature, top_p, eos", [(0.0, 1.0, 7), (0.7, 0.9, -1), (1.3, 1.0, 11)])
def test_hf_and_vllm_paths_are_built_with_the_same_settings(folder, fake_vllm, temperature, top_p, eos):
    """Both paths built from the same call: max tokens, stop ids, temperature, top-p, top-k / repetition penalty /
    min-p off, and (sampling) each prompt's seed; compared in vLLM's terms."""
    fake = fake_vllm()
    model = _load(folder)
    recording = Recording(model)
    args = dict(pad_id=0, eos_id=eos, max_new_tokens=4, temperature=temperature, top_p=top_p, seed=3)
    hf_generate_ids(recording, PROMPTS, batch_size=2, **args)
    generate_ids(model, PROMPTS, backend="vllm", **args)
    requests = fake.calls["requests"]
    seeds_hf: dict[int, int] = {}
    order = sorted(range(len(PROMPTS)), key=lambda i: -len(PROMPTS[i]))  # the HF path's batches, longest first
    for b, call in enumerate(recording.calls):
        processors = list(call.get("logits_processor") or [])
        sampler = next((p for p in processors if isinstance(p, PerItemSampler)), None)
        assert (sampler is None) == (temperature <= 0)
        view = hf_view(call, sampler)
        for row, i in enumerate(order[2 * b: 2 * b + 2]):
            theirs = requests[i]
            assert view == {k: theirs[k] for k in view}, (view, theirs)
            if sampler is not None:
                seeds_hf[i] = sampler.seeds[row]
    assert call["do_sample"] is False  # HF's own sampler (one stream per batch) is never used
    if temperature > 0:
        assert seeds_hf == {i: r["seed"] for i, r in enumerate(requests)}
    else:
        assert all(r["seed"] is None and r["temperature"] == 0.0 for r in requests)


def test_hf_samples_are_per_item_whatever_the_batch(folder):
    """A prompt's sample depends on (seed, its index) only: the same with batch size 1 or 4; a repeated prompt gets
    two different streams; another run seed gives other samples. (Seeding per batch, as before, fails the first.)"""
    model = _load(folder)
    prompts = PROMPTS + [PROMPTS[0]]
    args = dict(pad_id=0, eos_id=-1, max_new_tokens=8, temperature=1.5, top_p=0.95)
    one = hf_generate_ids(model, prompts, batch_size=1, seed=1, **args)
    assert hf_generate_ids(model, prompts, batch_size=4, seed=1, **args) == one
    assert one[0] != one[-1]
    assert hf_generate_ids(model, prompts, batch_size=4, seed=2, **args) != one


def test_per_item_sampler_draws_from_the_tempered_top_p_distribution():
    """Gumbel-max over tempered, top-p-cut logits: frequencies over 4000 streams match the probabilities (4 sigma),
    and the tokens top-p removes never appear."""
    from transformers import TopPLogitsWarper

    logits = torch.tensor([[2.0, 1.0, 0.5, 0.0, -1.0, -3.0]])
    temperature, top_p, n = 0.8, 0.9, 4000
    target = TopPLogitsWarper(top_p)(None, logits / temperature).softmax(-1)[0]
    assert (target == 0).sum() >= 1  # top-p really cuts something
    sampler = PerItemSampler([item_seed(0, i) for i in range(n)], temperature, top_p)
    draws = sampler(None, logits.expand(n, -1)).argmax(-1)
    freq = torch.bincount(draws, minlength=logits.shape[1]).double() / n
    sigma = (target.double() * (1 - target.double()) / n).sqrt()
    assert ((freq - target.double()).abs() <= 4 * sigma + 1e-12).all(), (freq, target)


def test_item_seeds_differ_across_items_and_runs():
    seeds = {item_seed(s, i) for s in range(20) for i in range(50)}
    assert len(seeds) == 1000 and all(0 <= x < 2**31 for x in seeds)
    assert item_seed(1, 0) != item_seed(0, 1)  # seed + item would collide here


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
