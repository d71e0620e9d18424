"""ADPA: autograd gradient vs the closed form, the clip option, and the advantage precompute."""
from __future__ import annotations

import math

import pytest
import torch

from methods.base import LossConfig
from methods.losses import IGNORE_INDEX, adpa_loss, expected_advantage
from methods.topk import advantages_from_logits

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


def _closed_form(logits, labels, ids, adv):
    """d loss / d logits = -q(a) (A(a) - sum_b q(b) A(b)) / (tokens in the sequence * sequences); A = 0 off the bins."""
    q = logits.softmax(-1)
    a_full = torch.zeros_like(logits).scatter(-1, ids, adv)
    expected = (q * a_full).sum(-1, keepdim=True)
    mask = (labels != IGNORE_INDEX).to(logits.dtype)
    scale = mask / mask.sum(-1, keepdim=True) / logits.shape[0]
    return -q * (a_full - expected) * scale.unsqueeze(-1)


@pytest.mark.parametrize("clip", [None, (0.0, 1.0)])
def test_adpa_gradient_equals_closed_form(clip):
    logits, labels, ids, adv = _inputs()
    logits.requires_grad_(True)
    adpa_loss(logits, labels, ids, adv, clip).backward()
    used = adv if clip is None else adv.clamp(*clip)
    closed = _closed_form(logits.detach(), labels, ids, used)
    torch.testing.assert_close(logits.grad.gather(-1, ids), closed.gather(-1, ids), rtol=1e-10, atol=1e-13)
    torch.testing.assert_close(logits.grad, closed, rtol=1e-10, atol=1e-13)  # off the bins too (A = 0 there)
    assert logits.grad[labels == IGNORE_INDEX].abs().max() == 0
    assert closed.gather(-1, ids).abs().max() > 1e-3


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
    assert adpa_loss(logits, labels, ids, adv).item() == pytest.approx(-sum(hand) / N, rel=1e-12)


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
    ids, adv = advantages_from_logits(dpo, ref, k=6, ref_floor="exact")
    top_ids = dpo.topk(6, dim=-1).indices
    assert torch.equal(ids.sort(-1).values, top_ids.sort(-1).values)  # the DPO teacher's top-K, reordered
    diff = dpo.log_softmax(-1) - ref.log_softmax(-1)
    torch.testing.assert_close(adv, diff.gather(-1, ids))
    assert (adv[..., :-1] >= adv[..., 1:]).all()  # sorted by advantage, highest first


# A hand-made 6-token distribution. DPO top-3 = tokens 0, 1, 2; the reference's top-3 = tokens 2, 3, 0,
# so token 1 is outside the reference's top-K (its true reference probability is 0.05).
P_DPO = [0.40, 0.30, 0.15, 0.10, 0.03, 0.02]
P_REF = [0.12, 0.05, 0.50, 0.20, 0.08, 0.05]


@pytest.mark.parametrize("mode, p_ref_token1", [("exact", 0.05), ("ref_min", 0.12), ("dpo_min", 0.15)])
def test_advantage_reference_floors(mode, p_ref_token1):
    ids, adv = advantages_from_logits(torch.tensor(P_DPO).log(), torch.tensor(P_REF).log(), k=3, ref_floor=mode)
    expected = {0: math.log(0.40 / 0.12), 1: math.log(0.30 / p_ref_token1), 2: math.log(0.15 / 0.50)}
    order = sorted(expected, key=expected.get, reverse=True)
    assert ids.tolist() == order
    assert adv.tolist() == pytest.approx([expected[i] for i in order], rel=1e-5)


def test_advantage_probabilities_clipped_at_1e7():
    p_dpo = torch.tensor([0.6, 0.4 - 2e-12, 1e-12, 1e-12])
    p_ref = torch.tensor([1e-12, 0.5, 0.5 - 2e-12, 1e-12])
    ids, adv = advantages_from_logits(p_dpo.log(), p_ref.log(), k=2, ref_floor="exact")
    assert ids.tolist() == [0, 1]
    assert adv.tolist() == pytest.approx([math.log(0.6 / 1e-7), math.log(0.4 / 0.5)], rel=1e-4)


def test_advantage_rejects_unknown_floor():
    with pytest.raises(ValueError, match="ref_floor"):
        advantages_from_logits(torch.zeros(1, 4), torch.zeros(1, 4), k=2, ref_floor="min")
