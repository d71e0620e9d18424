"""The speed fix in shifted_forward / _response_logits (LM head on response columns only) changes no loss or gradient."""
from __future__ import annotations

import importlib

import pytest
import torch

from methods.base import LossConfig, response_columns, shifted_forward
from methods.batching import PER_TOKEN_KEYS, SFTCollator
from methods.devices import to_model_device
from methods.registry import get_method


def _full_forward(model, batch):
    """Reference: the whole [rows, L-1, vocab] logits, shifted, nothing cropped."""
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    out = {"logits": logits[:, :-1], "labels": batch["labels"][:, 1:]}
    for key in PER_TOKEN_KEYS:
        if key in batch:
            out[key] = batch[key][:, 1:]
    return out


def _pairs():
    g = torch.Generator().manual_seed(0)
    ids = lambda n: torch.randint(20, 1000, (n,), generator=g).tolist()

    def teacher(n):
        probs = torch.softmax(torch.randn(n, 6, generator=g), -1)
        return {"ids": torch.randint(0, 1000, (n, 5), generator=g), "probs": probs[:, :5], "tail": probs[:, 5]}

    def advantages(n):
        return {"ids": torch.randint(0, 1000, (n, 5), generator=g), "advantages": torch.randn(n, 5, generator=g)}

    shapes = [(6, 5, 3), (9, 2, 6)]  # prompt, chosen, rejected/sample lengths: uneven on purpose
    return [{"prompt_ids": ids(p), "chosen_ids": ids(c), "rejected_ids": ids(r), "sample_ids": ids(r),
             "chosen_teacher_topk": teacher(c), "rejected_teacher_topk": teacher(r), "sample_advantages": advantages(r),
             "ref_chosen_logps": -30.0, "ref_rejected_logps": -25.0} for p, c, r in shapes]


def test_response_columns_span():
    labels = torch.tensor([[-100, -100, 5, 6, -100], [-100, -100, -100, 7, -100]])
    assert response_columns(labels) == (2, 4)
    assert response_columns(torch.full((2, 3), -100)) == (0, 3)


@pytest.mark.parametrize("name", ["sft", "dpo", "dckd", "adpa"])
def test_cropped_forward_matches_full_logits(tiny_model, monkeypatch, name):
    method = get_method(name)
    pairs = _pairs()
    if method.data == "sft":
        rows = [{"prompt_ids": p["prompt_ids"], "response_ids": p[k]} for k in ("chosen_ids", "rejected_ids") for p in pairs]
        batch = SFTCollator(2)(rows)
    else:
        batch = method.collator(2)(pairs)
    batch = to_model_device(batch, tiny_model)
    module = importlib.import_module(f"methods.{name}")
    results = []
    for forward in (shifted_forward, _full_forward):
        monkeypatch.setattr(module, "shifted_forward", forward)
        tiny_model.zero_grad()
        loss, _ = method.compute_loss(tiny_model, batch, LossConfig())
        loss.backward()
        results.append((loss.detach(), [p.grad.clone() for p in tiny_model.parameters()]))
    (loss, grads), (ref_loss, ref_grads) = results
    torch.testing.assert_close(loss, ref_loss, rtol=1e-5, atol=1e-6)
    for g, r in zip(grads, ref_grads):
        torch.testing.assert_close(g, r, rtol=1e-4, atol=1e-6)
    assert shifted_forward(tiny_model, batch)["logits"].shape[1] < batch["input_ids"].shape[1] - 1  # prompts cropped


def test_precompute_uses_response_tokens_only(tiny_model):
    from methods.topk import precompute_sequence_logps, precompute_teacher_topk

    examples = [{"prompt_ids": p["prompt_ids"], "response_ids": p["chosen_ids"]} for p in _pairs()]
    store = precompute_teacher_topk(tiny_model, examples, pad_id=2, k=4)
    for i, e in enumerate(examples):
        assert store.entry(i)["tokens"].tolist() == e["response_ids"]
    # reference: full-logits log-prob of each response, computed independently
    for e, value in zip(examples, precompute_sequence_logps(tiny_model, examples, pad_id=2)):
        ids = torch.tensor([e["prompt_ids"] + e["response_ids"]])
        with torch.no_grad():
            logp = tiny_model(input_ids=to_model_device(ids, tiny_model)).logits[0, :-1].log_softmax(-1).cpu()
        n = len(e["prompt_ids"])
        expected = logp[n - 1 :].gather(-1, ids[0, n:].unsqueeze(-1)).sum()
        assert value == pytest.approx(float(expected), rel=1e-4, abs=1e-4)
