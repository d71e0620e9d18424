"""Loss functions as small pure functions on tensors.

Conventions shared by every function here:
- ``logits`` are already shifted: ``logits[:, t]`` predicts ``labels[:, t]``; shape [N, T, V].
- ``labels`` is [N, T] with -100 on prompt and padding positions.
- Per-token teacher tensors are aligned with ``labels``: token ids and their values (teacher probabilities for
  DCKD, advantages for ADPA) are [N, T, K]; the teacher's tail mass is [N, T].
- A teacher id at or beyond the student's logit width (a teacher with a larger padded vocabulary) falls into
  the tail bin, for the teacher's p and the student's q alike; it carries no advantage (method spec 2(c)).
- Every per-token term is reduced as a token mean within each sequence, then a plain mean over
  sequences, so a loss does not depend on how sequences are split into micro-batches.

Student probabilities at the teacher's K indices come from ``gather(logits) - logsumexp(logits)``:
no full-vocabulary probability tensor is materialised on top of the logits.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

IGNORE_INDEX = -100
# Same stabiliser as the released code (method spec 2(c)): every student bin, the K teacher tokens and the
# tail alike, is raised to at least 1e-7 before its log.
PROB_FLOOR = 1e-7
# A Python float, not a tensor: Tensor.clamp with a CPU tensor bound fails on a CUDA input (clamp.Tensor overload).
LOG_PROB_FLOOR = math.log(PROB_FLOOR)


def response_mask(labels: torch.Tensor) -> torch.Tensor:
    return labels != IGNORE_INDEX


def sequence_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Token mean within each sequence -> [N]. A sequence with no response tokens gives 0."""
    mask = mask.to(values.dtype)
    return (values * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)


def token_logps(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """log p(label_t) at every position -> [N, T]; 0 where the label is masked."""
    mask = response_mask(labels)
    safe = labels.masked_fill(~mask, 0)
    lse = torch.logsumexp(logits, dim=-1)
    picked = logits.gather(-1, safe.unsqueeze(-1)).squeeze(-1)
    return (picked - lse) * mask


def sequence_logps(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Summed (not length-normalised) response log-probability per sequence -> [N]."""
    return token_logps(logits, labels).sum(-1)


def nll_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Token-level negative log-likelihood: token mean per sequence, mean over sequences."""
    return -sequence_mean(token_logps(logits, labels), response_mask(labels)).mean()


def dpo_loss(
    policy_chosen_logps: torch.Tensor,
    policy_rejected_logps: torch.Tensor,
    ref_chosen_logps: torch.Tensor,
    ref_rejected_logps: torch.Tensor,
    beta: float,
    label_smoothing: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sigmoid DPO (Rafailov et al.) on summed log-probs.

    Returns the per-pair losses [B] and the implicit rewards beta * log(pi / pi_ref) for the
    chosen and rejected responses ([B] each, detached).
    """
    chosen_logratio = policy_chosen_logps - ref_chosen_logps
    rejected_logratio = policy_rejected_logps - ref_rejected_logps
    margin = beta * (chosen_logratio - rejected_logratio)
    losses = -F.logsigmoid(margin) * (1 - label_smoothing) - F.logsigmoid(-margin) * label_smoothing
    return losses, beta * chosen_logratio.detach(), beta * rejected_logratio.detach()


def topk_student_logprobs(logits: torch.Tensor, topk_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Student log q at the teacher's K token ids -> ([N, T, K], log of the tail bin [N, T], in-width mask [N, T, K]).

    An id beyond the logits' width gets q = 0 (log q = -inf): its probability is part of the tail bin. The tail
    bin is 1 - sum of the K probabilities, floored at PROB_FLOOR so its log stays finite (positions where the
    teacher's tail is exactly 0 then contribute exactly 0).
    """
    in_width = topk_ids < logits.shape[-1]
    safe_ids = topk_ids.long().masked_fill(~in_width, 0)
    lse = torch.logsumexp(logits, dim=-1, keepdim=True)
    logq = (logits.gather(-1, safe_ids) - lse).masked_fill(~in_width, float("-inf"))
    tail = (1.0 - logq.exp().sum(-1)).clamp(min=PROB_FLOOR)
    return logq, tail.log(), in_width


def topk_forward_kl(
    logits: torch.Tensor,
    labels: torch.Tensor,
    teacher_ids: torch.Tensor,
    teacher_probs: torch.Tensor,
    teacher_tail: torch.Tensor,
) -> torch.Tensor:
    """DCKD term: forward KL(p_teacher || q_student) over K teacher bins plus one tail bin.

    KL_t = sum_k p[k] (log p[k] - log q[k]) with k running over the K stored tokens and the tail.
    Reduced as a token mean per sequence, then a mean over sequences.
    """
    logq, log_tail_q, in_width = topk_student_logprobs(logits, teacher_ids)
    logq = logq.clamp(min=LOG_PROB_FLOOR)
    p_all = teacher_probs.to(logq.dtype)
    p = p_all.masked_fill(~in_width, 0.0)
    # ids beyond the student's width: their teacher mass joins the tail bin
    tail_p = (teacher_tail.to(logq.dtype) + (p_all - p).sum(-1)).clamp(min=0.0)
    kl = (torch.xlogy(p, p) - p * logq).sum(-1) + torch.xlogy(tail_p, tail_p) - tail_p * log_tail_q
    return sequence_mean(kl, response_mask(labels)).mean()


def expected_advantage(
    logits: torch.Tensor,
    labels: torch.Tensor,
    advantage_ids: torch.Tensor,
    advantages: torch.Tensor,
    clip: tuple[float, float] | None = None,
) -> torch.Tensor:
    """Per-sequence expected advantage sum_k q(a_k) A(a_k) over the DPO teacher's top-K tokens.

    The tail bin (and an id beyond the student's width, which belongs to it) carries advantage 0.
    ``clip=(0, 1)`` reproduces the released code, whose probability stabiliser clamps the advantages into
    [0, 1]; ``None`` is the paper's form. Returns [N] (token mean per sequence).
    """
    logq, _, in_width = topk_student_logprobs(logits, advantage_ids)
    adv = advantages.to(logq.dtype)
    if clip is not None:
        adv = adv.clamp(min=clip[0], max=clip[1])
    adv = adv.masked_fill(~in_width, 0.0)
    per_token = (logq.exp() * adv).sum(-1)
    return sequence_mean(per_token, response_mask(labels))
