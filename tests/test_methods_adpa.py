"""ADPA: the training loss's gradient vs the closed form, the clip option, and the advantage precompute."""
from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from methods.base import LossConfig
from methods.devices import to_model_device
from methods.examples import attach_advantages, response_view, with_samples
from methods.losses import IGNORE_INDEX, expected_advantage
from methods.registry import get_method
from methods.topk import TopKStore, advantages_from_logits, precompute_advantages

N, T, V, K = 3, 4, 16, 5


def _inputs(seed=0):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(N, T, V, generator=g, dtype=torch.float64)
    labels = torch.randint(0, V, (N, T), generator=g)
    labels[0, :2] = IGNORE_INDEX  # 2, 4 and 1 response tokens
    labels[2, :3] = IGNORE_INDEX
    ids = torch.stack([torch.randperm(V, generator=g)[:K] for _ in range(N * T)]).reshape(N, T, K)
    adv = torch.randn(N, T, K, generator=g, dtype=torch.float64) * 2  # many outside [0, 1]
    return logits, labels, ids, adv


class FixedLogits(torch.nn.Module):
    """A "model" whose logits are one trainable tensor [rows, L, V], whatever the input ids."""

    def __init__(self, logits: torch.Tensor):
        super().__init__()
        self.table = torch.nn.Parameter(logits)

    def forward(self, input_ids, attention_mask=None, logits_to_keep=None):
        return SimpleNamespace(logits=self.table if logits_to_keep is None else self.table[:, logits_to_keep])


def _adpa_batch(seed=0):
    """ADPA pairs of unequal lengths through the real examples code and collator; V-token vocabulary."""
    g = torch.Generator().manual_seed(seed)
    toks = lambda n: torch.randint(1, V, (n,), generator=g).tolist()
    pairs = [{"prompt_ids": toks(p), "chosen_ids": toks(c), "rejected_ids": toks(1)} for p, c in ((2, 3), (4, 1), (3, 2))]
    samples = [toks(n) for n in (2, 4, 1)]
    entries = [{"ids": torch.stack([torch.randperm(V, generator=g)[:K] for _ in s]), "values": torch.randn(len(s), K, generator=g) * 2,
                "tail": torch.zeros(len(s)), "tokens": torch.tensor(s)} for s in samples]
    examples = attach_advantages(with_samples(pairs, samples), TopKStore.from_entries(entries, {"kind": "advantages"}))
    return examples, get_method("adpa").collator(0)(examples)


def _closed_form(logits, examples, rows, clip, weight):
    """d loss / d logits = -w q(a) (A(a) - sum_b q(b) A(b)) / (tokens in the sequence * sequences), A = 0 off the bins,
    at the positions that predict each sample token (position len(prompt) + j - 1 predicts sample token j)."""
    grad = torch.zeros_like(logits)
    for i, e in enumerate(examples):
        entry, n = e["sample_advantages"], len(e["sample_ids"])
        for j in range(n):
            t = len(e["prompt_ids"]) + j - 1
            q = logits[rows + i, t].softmax(-1)
            a_full = torch.zeros(V, dtype=logits.dtype)
            adv = entry["advantages"][j].double()
            a_full[entry["ids"][j].long()] = adv if clip is None else adv.clamp(*clip)
            grad[rows + i, t] = -weight * q * (a_full - (q * a_full).sum()) / (n * len(examples))
    return grad


@pytest.mark.parametrize("adpa_clip, clip", [("none", None), ("0,1", (0.0, 1.0))])
def test_adpa_training_gradient_equals_closed_form(adpa_clip, clip):
    """Through ADPA.compute_loss (what training runs), with the NLL term off: the spec's 2(d) gradient."""
    examples, batch = _adpa_batch()
    rows, width = batch["input_ids"].shape
    g = torch.Generator().manual_seed(1)
    model = FixedLogits(torch.randn(rows, width, V, generator=g, dtype=torch.float64))
    cfg = LossConfig(sft_weight=0.0, adpa_weight=1.6, adpa_clip=adpa_clip)
    loss, _ = get_method("adpa").compute_loss(model, batch, cfg)
    loss.backward()
    closed = _closed_form(model.table.detach(), examples, rows // 2, clip, cfg.adpa_weight)
    assert closed.abs().max() > 1e-3
    torch.testing.assert_close(model.table.grad, closed, rtol=1e-10, atol=1e-13)  # zero off the sample positions too


def test_clip_clamps_advantages_into_unit_interval():
    logits, labels, ids, adv = _inputs(seed=1)
    assert (adv < 0).any() and (adv > 1).any()
    clipped = expected_advantage(logits, labels, ids, adv, (0.0, 1.0))
    torch.testing.assert_close(clipped, expected_advantage(logits, labels, ids, adv.clamp(0, 1), None))
    assert not torch.allclose(clipped, expected_advantage(logits, labels, ids, adv, None))
    inside = adv.sigmoid()  # already in [0, 1]: clipping changes nothing
    torch.testing.assert_close(expected_advantage(logits, labels, ids, inside, (0.0, 1.0)),
                               expected_advantage(logits, labels, ids, inside, None), rtol=0, atol=0)


def test_expected_advantage_hand_value():
    logits, labels, ids, adv = _inputs(seed=2)
    q = logits.softmax(-1)
    hand = []
    for i in range(N):
        per_token = [sum(q[i, t, ids[i, t, k]].item() * adv[i, t, k].item() for k in range(K))
                     for t in range(T) if labels[i, t] != IGNORE_INDEX]
        hand.append(sum(per_token) / len(per_token))
    torch.testing.assert_close(expected_advantage(logits, labels, ids, adv), torch.tensor(hand, dtype=torch.float64))


@pytest.mark.parametrize("bad", ["0-1", "[0,1]", "clip", "", None, "0,2"])
def test_loss_config_rejects_bad_clip(bad):
    with pytest.raises(ValueError, match="adpa_clip"):
        LossConfig(adpa_clip=bad)


def test_loss_config_clip_range():
    assert LossConfig().clip_range is None
    assert LossConfig(adpa_clip="0,1").clip_range == (0.0, 1.0)


def test_advantages_exact_mode_equals_log_softmax_difference():
    g = torch.Generator().manual_seed(0)
    dpo, ref = torch.randn(2, 3, 32, generator=g), torch.randn(2, 3, 32, generator=g)
    ids, adv = advantages_from_logits(dpo, ref, k=6, floor="exact")
    top_ids = dpo.topk(6, dim=-1).indices
    assert torch.equal(ids.sort(-1).values, top_ids.sort(-1).values)  # the DPO teacher's top-K, reordered
    diff = dpo.log_softmax(-1) - ref.log_softmax(-1)
    torch.testing.assert_close(adv, diff.gather(-1, ids))
    assert (adv[..., :-1] >= adv[..., 1:]).all()  # sorted by advantage, highest first


# A hand-made 6-token distribution. DPO top-3 = tokens 0, 1, 2; the baseline's top-3 = tokens 2, 3, 0,
# so token 1 is outside the baseline's top-K (its true baseline probability is 0.05).
P_DPO = [0.40, 0.30, 0.15, 0.10, 0.03, 0.02]
P_REF = [0.12, 0.05, 0.50, 0.20, 0.08, 0.05]


@pytest.mark.parametrize("mode, p_ref_token1", [("exact", 0.05), ("baseline_min", 0.12), ("dpo_min", 0.15), (None, 0.12)])
def test_advantage_baseline_floors(mode, p_ref_token1):
    """Each floor by hand; the default (None: not given) is the baseline's own smallest top-K probability."""
    options = {} if mode is None else {"floor": mode}
    ids, adv = advantages_from_logits(torch.tensor(P_DPO).log(), torch.tensor(P_REF).log(), k=3, **options)
    expected = {0: math.log(0.40 / 0.12), 1: math.log(0.30 / p_ref_token1), 2: math.log(0.15 / 0.50)}
    order = sorted(expected, key=expected.get, reverse=True)
    assert ids.tolist() == order
    assert adv.tolist() == pytest.approx([expected[i] for i in order], rel=1e-5)


def test_advantage_probabilities_clipped_at_1e7():
    p_dpo = torch.tensor([0.6, 0.4 - 2e-12, 1e-12, 1e-12])
    p_ref = torch.tensor([1e-12, 0.5, 0.5 - 2e-12, 1e-12])
    ids, adv = advantages_from_logits(p_dpo.log(), p_ref.log(), k=2, floor="exact")
    assert ids.tolist() == [0, 1]
    assert adv.tolist() == pytest.approx([math.log(0.6 / 1e-7), math.log(0.4 / 0.5)], rel=1e-4)


def test_advantage_rejects_unknown_floor():
    with pytest.raises(ValueError, match="floor"):
        advantages_from_logits(torch.zeros(1, 4), torch.zeros(1, 4), k=2, floor="ref_min")


def test_precompute_advantages_scores_the_dpo_teacher_against_the_baseline(tokenizer, tiny_model, tiny_teacher):
    """The store holds advantages_from_logits of the two models' own full logits (default floor), per sample token."""
    from methods_helpers import preference_examples

    examples = with_samples(preference_examples(tokenizer, 2), [[5, 6, 7], [8, 9, 10, 11, tokenizer.eos_token_id]])
    view = response_view(examples, "sample")
    store = precompute_advantages(tiny_teacher, tiny_model, view, tokenizer.pad_token_id, k=4)
    assert store.metadata["kind"] == "advantages" and store.metadata["floor"] == "baseline_min"
    for i, e in enumerate(view):
        seq = to_model_device(torch.tensor([e["prompt_ids"] + e["response_ids"]]), tiny_model)
        p = len(e["prompt_ids"])
        with torch.no_grad():
            dpo_logits, base_logits = (m(input_ids=seq).logits[0, p - 1 : seq.shape[1] - 1] for m in (tiny_teacher, tiny_model))
        ids, adv = (t.cpu() for t in advantages_from_logits(dpo_logits, base_logits, k=4, floor="baseline_min"))
        entry = store.entry(i)
        assert entry["tokens"].tolist() == e["response_ids"]
        assert torch.equal(entry["ids"].long(), ids)
        torch.testing.assert_close(entry["values"], adv, rtol=1e-4, atol=1e-4)
        assert entry["values"].abs().max() > 1e-3  # two different models: advantages are not 0
