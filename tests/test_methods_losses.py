"""DPO and DCKD losses against independent references (TRL, torch's kl_div, hand formulas)."""
from __future__ import annotations

import math
from collections import defaultdict
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

from methods.losses import IGNORE_INDEX, dpo_loss, nll_loss, topk_forward_kl


def _random_logps(b: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    return [-(torch.rand(b, generator=g, dtype=torch.float64) * 200 + 1) for _ in range(4)]


class _LogProbModel(torch.nn.Module):
    """Stands in for the policy inside TRL's DPO loss: returns fixed per-token log-probs."""

    def __init__(self, per_token_logps: torch.Tensor):
        super().__init__()
        self.per_token_logps = per_token_logps

    def forward(self, input_ids, **kwargs):
        lp = self.per_token_logps
        return SimpleNamespace(log_probs=lp, entropy=torch.zeros_like(lp), mean_logits=torch.zeros_like(lp),
                               is_top1=torch.zeros(lp.shape, dtype=torch.bool))


def trl_sigmoid_dpo_loss(policy_c, policy_r, ref_c, ref_r, beta: float) -> torch.Tensor:
    """TRL 1.x's own DPOTrainer._compute_loss (loss_type="sigmoid", precomputed reference log-probs).

    TRL has no standalone DPO loss function any more; the loss is computed inside ``_compute_loss``
    from the model's per-token log-probs. We call that method on a bare DPOTrainer object holding only
    the attributes it reads, with a stand-in model whose per-token log-probs sum to the given values.
    """
    from trl import DPOTrainer

    b = policy_c.shape[0]
    per_token = torch.zeros(2 * b, 3, dtype=policy_c.dtype)
    per_token[:, 0] = torch.cat([policy_c, policy_r])  # the other positions hold log-prob 0
    trainer = object.__new__(DPOTrainer)
    model = _LogProbModel(per_token).train()
    # One process: gathering metrics is the identity (a real Accelerator would leave global state behind).
    one_process = SimpleNamespace(device=torch.device("cpu"), gather=lambda x: x, gather_for_metrics=lambda x: x)
    trainer.__dict__.update(
        model=model, accelerator=one_process, aux_loss_enabled=False, ld_alpha=None, precompute_ref_logps=True,
        f_divergence_type="reverse_kl", loss_types=["sigmoid"], loss_weights=[1.0], beta=beta, label_smoothing=0.0,
        use_weighting=False, _metrics={"train": defaultdict(list), "eval": defaultdict(list)}, _total_train_tokens=0, _tp_size=1,
    )
    inputs = {"input_ids": torch.zeros(2 * b, 4, dtype=torch.long), "attention_mask": torch.ones(2 * b, 4, dtype=torch.long),
              "completion_mask": torch.ones(2 * b, 4, dtype=torch.long), "ref_chosen_logps": ref_c, "ref_rejected_logps": ref_r}
    return trainer._compute_loss(model, inputs, return_outputs=False)


@pytest.mark.parametrize("beta", [0.01, 0.1, 0.5])
def test_dpo_loss_equals_trl(beta):
    pc, pr, rc, rr = _random_logps(6, seed=int(beta * 100))
    losses, _, _ = dpo_loss(pc, pr, rc, rr, beta)
    expected = trl_sigmoid_dpo_loss(pc, pr, rc, rr, beta)
    assert expected.item() > 0
    torch.testing.assert_close(losses.mean(), expected.to(losses.dtype), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1, 0.3])
def test_dpo_loss_equals_hand_formula(label_smoothing):
    beta = 0.1
    pc, pr, rc, rr = _random_logps(5, seed=3)
    losses, chosen_rewards, rejected_rewards = dpo_loss(pc, pr, rc, rr, beta, label_smoothing)
    for i in range(5):
        z = beta * ((pc[i] - rc[i]) - (pr[i] - rr[i])).item()
        sig = 1.0 / (1.0 + math.exp(-z))
        hand = -(1 - label_smoothing) * math.log(sig) - label_smoothing * math.log(1 - sig)
        assert losses[i].item() == pytest.approx(hand, rel=1e-9)
        assert chosen_rewards[i].item() == pytest.approx(beta * (pc[i] - rc[i]).item(), rel=1e-12)
        assert rejected_rewards[i].item() == pytest.approx(beta * (pr[i] - rr[i]).item(), rel=1e-12)


def test_nll_is_token_mean_per_sequence_then_mean():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 5, 11, generator=g, dtype=torch.float64)
    labels = torch.randint(0, 11, (2, 5), generator=g)
    labels[0, :3] = IGNORE_INDEX  # sequence 0 has 2 response tokens, sequence 1 has 5
    logp = logits.log_softmax(-1)
    seq0 = -(logp[0, 3, labels[0, 3]] + logp[0, 4, labels[0, 4]]) / 2
    seq1 = -sum(logp[1, t, labels[1, t]] for t in range(5)) / 5
    assert nll_loss(logits, labels).item() == pytest.approx(((seq0 + seq1) / 2).item(), rel=1e-12)


def _teacher_and_logits(n=3, t=4, v=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, t, v, generator=g, dtype=torch.float64)
    teacher = torch.softmax(torch.randn(n, t, v, generator=g, dtype=torch.float64) * 2, -1)
    labels = torch.randint(0, v, (n, t), generator=g)
    labels[0, :1] = IGNORE_INDEX  # different response lengths per sequence
    labels[2, :3] = IGNORE_INDEX
    return logits, teacher, labels


def _per_sequence_mean(kl_tokens: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    mask = (labels != IGNORE_INDEX).to(kl_tokens.dtype)
    return ((kl_tokens * mask).sum(-1) / mask.sum(-1)).mean()


def test_dckd_full_vocabulary_equals_kl_div():
    v = 32
    logits, teacher, labels = _teacher_and_logits(v=v)
    probs, ids = teacher.sort(-1, descending=True)
    tail = (1.0 - probs.sum(-1)).clamp(min=0.0)
    ours = topk_forward_kl(logits, labels, ids, probs, tail)
    kl_tokens = F.kl_div(logits.log_softmax(-1), teacher, reduction="none").sum(-1)
    reference = _per_sequence_mean(kl_tokens, labels)
    assert reference.item() > 0.1
    torch.testing.assert_close(ours, reference, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("k", [1, 5, 20])
def test_dckd_topk_with_tail_bin_equals_hand_formula(k):
    logits, teacher, labels = _teacher_and_logits(v=32, seed=k)
    probs, ids = teacher.topk(k, dim=-1)
    tail = 1.0 - probs.sum(-1)
    ours = topk_forward_kl(logits, labels, ids, probs, tail)

    q = logits.softmax(-1)
    n, t, _ = logits.shape
    hand = torch.zeros(n, t, dtype=torch.float64)
    for i in range(n):
        for j in range(t):
            q_top = q[i, j, ids[i, j]]
            term = sum(p * math.log(p / qq) for p, qq in zip(probs[i, j].tolist(), q_top.tolist()))
            p_tail, q_tail = tail[i, j].item(), 1.0 - q_top.sum().item()
            hand[i, j] = term + p_tail * math.log(p_tail / q_tail)
    torch.testing.assert_close(ours, _per_sequence_mean(hand, labels), rtol=1e-9, atol=1e-10)


def test_dckd_is_zero_when_student_matches_teacher():
    logits, _, labels = _teacher_and_logits(v=32, seed=7)
    probs, ids = logits.softmax(-1).topk(6, dim=-1)
    assert topk_forward_kl(logits, labels, ids, probs, 1.0 - probs.sum(-1)).abs().item() < 1e-12


def test_dckd_student_floors_follow_the_spec():
    """Spec 2(c): every student bin below 1e-7 (a teacher token the student all but excludes, and a student tail of
    almost nothing) counts as 1e-7 in log q. One position, by hand."""
    logits = torch.full((1, 1, 8), -60.0, dtype=torch.float64)
    logits[0, 0, 0], logits[0, 0, 1] = 0.0, -40.0  # q(1) ~ 4e-18, student tail ~ 6 e^-60
    labels = torch.tensor([[3]])
    ids, probs, tail = torch.tensor([[[0, 1]]]), torch.tensor([[[0.5, 0.2]]], dtype=torch.float64), torch.tensor([[0.3]], dtype=torch.float64)
    q0 = logits[0, 0].softmax(-1)[0].item()
    hand = 0.5 * math.log(0.5 / q0) + 0.2 * math.log(0.2 / 1e-7) + 0.3 * math.log(0.3 / 1e-7)
    assert topk_forward_kl(logits, labels, ids, probs, tail).item() == pytest.approx(hand, rel=1e-12)
