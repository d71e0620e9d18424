"""Teacher top-K store: exact round trip, and the precompute against a direct softmax top-K."""
from __future__ import annotations

import pytest
import torch

from methods.devices import to_model_device
from methods.examples import response_view
from methods.topk import TopKStore, precompute_sequence_logps, precompute_teacher_topk

from methods_helpers import preference_examples


def _random_entries(lengths, k=7, seed=0):
    g = torch.Generator().manual_seed(seed)
    out = []
    for n in lengths:
        values = torch.rand(n, k, generator=g)
        out.append({"ids": torch.randint(0, 50000, (n, k), generator=g), "values": values,
                    "tail": torch.rand(n, generator=g), "tokens": torch.randint(0, 50000, (n,), generator=g)})
    return out


def test_store_round_trips_bitwise(tmp_path):
    entries = _random_entries([3, 1, 6, 2])
    store = TopKStore.from_entries(entries, {"kind": "teacher_topk", "model": "m", "k": 7})
    path = tmp_path / "sub" / "store.safetensors"
    store.save(path)
    assert [p.name for p in path.parent.iterdir()] == ["store.safetensors"]  # no temporary file left behind
    loaded = TopKStore.load(path)
    assert loaded.metadata == {"kind": "teacher_topk", "model": "m", "k": 7}
    assert len(loaded) == 4 and loaded.k == 7
    for name in ("ids", "values", "tail", "tokens", "offsets"):
        a, b = getattr(store, name), getattr(loaded, name)
        assert a.dtype == b.dtype and a.shape == b.shape
        assert torch.equal(a, b), name
    for i, entry in enumerate(entries):
        got = loaded.entry(i)
        assert torch.equal(got["ids"], entry["ids"].to(torch.int32))
        assert torch.equal(got["values"], entry["values"])  # float32 in, float32 out: bit-exact
        assert torch.equal(got["tail"], entry["tail"])
        assert torch.equal(got["tokens"], entry["tokens"].to(torch.int32))


def test_precompute_teacher_topk_matches_direct_softmax(tokenizer, tiny_teacher):
    examples = response_view(preference_examples(tokenizer, 3), "chosen")
    k = 5
    store = precompute_teacher_topk(tiny_teacher, examples, tokenizer.pad_token_id, k=k)
    assert len(store) == 3 and store.k == k
    for i, ex in enumerate(examples):
        seq = torch.tensor([ex["prompt_ids"] + ex["response_ids"]])
        with torch.no_grad():  # the store is on the CPU: the reference comes back there
            probs = tiny_teacher(input_ids=to_model_device(seq, tiny_teacher)).logits[0].float().softmax(-1).cpu()
        # position t predicts token t + 1: the response tokens are predicted from positions P-1 .. L-2
        p = len(ex["prompt_ids"])
        probs = probs[p - 1 : seq.shape[1] - 1]
        top_p, top_ids = probs.topk(k, dim=-1)
        entry = store.entry(i)
        assert torch.equal(entry["tokens"].long(), torch.tensor(ex["response_ids"]))
        assert torch.equal(entry["ids"].long(), top_ids)
        torch.testing.assert_close(entry["values"], top_p, rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(entry["tail"], 1.0 - top_p.sum(-1), rtol=1e-4, atol=1e-5)
        assert (entry["values"][:, :-1] >= entry["values"][:, 1:]).all()
    assert store.metadata["kind"] == "teacher_topk"


def test_precompute_sequence_logps_match_each_example_on_its_own(tokenizer, tiny_model):
    """Batched by length (order shuffled, padded) and written back to the right example."""
    examples = response_view(preference_examples(tokenizer, 5), "rejected")
    values = precompute_sequence_logps(tiny_model, examples, tokenizer.pad_token_id)  # one batch, longest first: 3, 0, 1, 4, 2
    for e, value in zip(examples, values):
        seq = torch.tensor([e["prompt_ids"] + e["response_ids"]])
        with torch.no_grad():
            logp = tiny_model(input_ids=to_model_device(seq, tiny_model)).logits[0, :-1].log_softmax(-1).cpu()
        p = len(e["prompt_ids"])
        expected = logp[p - 1 :].gather(-1, seq[0, p:].unsqueeze(-1)).sum()
        assert value == pytest.approx(float(expected), rel=1e-5)
    assert len(set(values)) == len(values)
