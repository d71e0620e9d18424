"""Losses of the methods beyond the paper (GKD, DistiLLM-2, SimPO), as small pure functions on tensors.

Same conventions as methods.losses: ``logits`` are shifted ([N, T, V], ``logits[:, t]`` predicts ``labels[:, t]``),
``labels`` carry -100 off the response, per-token teacher tensors are aligned with the labels, and every per-token
term is a token mean within each sequence, then a plain mean over sequences.

The teacher is known only through a stored top-K distribution (K ids, their probabilities, the tail mass
1 - sum). The divergences are therefore taken over K + 1 bins: the K teacher tokens and one "rest" bin holding
everything else, for the teacher's p and the student's q alike. When K covers the vocabulary (tail 0) this is the
full-vocabulary divergence exactly; that is how the tests compare with TRL. A teacher id at or beyond the student's
logit width joins the rest bin (as in methods.losses).

No probability floor of 1e-7 here (that is DCKD's released-code stabiliser): logs of student bins come from
log-softmax and are finite; only the student's rest bin and a zero teacher probability are raised to the dtype's
smallest normal number before a log, which changes nothing measurable and keeps every gradient finite.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .losses import response_mask, sequence_mean, token_logps


def topk_bins(logits: torch.Tensor, teacher_ids: torch.Tensor, teacher_probs: torch.Tensor, teacher_tail: torch.Tensor,
              temperature: float = 1.0):
    """Teacher p and student q over the K teacher tokens plus the rest bin -> (p, log p, q, log q, mask), [N, T, K+1].

    ``temperature`` divides the student's logits (exact) and sharpens the teacher's K stored probabilities,
    p_k^(1/T) renormalised to their own total mass; the teacher's rest mass is kept (it is one number, its
    tokens unknown), so the teacher side is exact when the tail is 0. ``mask`` is 0 on bins of ids beyond the
    student's width (their teacher mass is in the rest bin); every returned log is finite.
    """
    dtype = logits.dtype
    tiny = torch.finfo(dtype).tiny
    in_width = teacher_ids < logits.shape[-1]
    keep = in_width.to(dtype)
    safe_ids = teacher_ids.long().masked_fill(~in_width, 0)
    z = logits / temperature if temperature != 1.0 else logits
    logq_k = z.gather(-1, safe_ids) - torch.logsumexp(z, dim=-1, keepdim=True)  # finite; out-of-width bins masked below
    q_k = logq_k.exp() * keep
    q_rest = (1.0 - q_k.sum(-1)).clamp(min=tiny)
    probs = teacher_probs.to(dtype)
    p_k = probs * keep
    p_rest = (teacher_tail.to(dtype) + (probs - p_k).sum(-1)).clamp(min=0.0)
    if temperature != 1.0:
        mass = p_k.sum(-1, keepdim=True)
        sharpened = torch.where(p_k > 0, p_k.clamp(min=tiny).log() / temperature, torch.full_like(p_k, -math.inf))
        p_k = torch.softmax(sharpened, dim=-1) * mass
        p_k = torch.nan_to_num(p_k, nan=0.0)  # a row whose K bins are all out of width (mass 0)
    p = torch.cat([p_k, p_rest.unsqueeze(-1)], -1)
    q = torch.cat([q_k, q_rest.unsqueeze(-1)], -1)
    logq = torch.cat([logq_k, q_rest.log().unsqueeze(-1)], -1)
    mask = torch.cat([keep, torch.ones_like(p_rest).unsqueeze(-1)], -1)
    return p, p.clamp(min=tiny).log(), q, logq, mask


def _kl(a: torch.Tensor, log_a: torch.Tensor, log_b: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """sum over bins of a (log a - log b) -> [N, T]; bins with a = 0 contribute 0."""
    return (mask * a * (log_a - log_b)).sum(-1)


def _mixture_log(weight_p: float, log_p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """log(weight_p * p + (1 - weight_p) * q), for 0 < weight_p < 1."""
    return torch.logaddexp(log_p + math.log(weight_p), log_q + math.log1p(-weight_p))


def generalized_jsd(logits, labels, teacher_ids, teacher_probs, teacher_tail, beta: float, temperature: float = 1.0):
    """GKD's generalised Jensen-Shannon divergence per token, token mean per sequence -> [N].

    With M = beta * p + (1 - beta) * q: JSD_beta = beta KL(p || M) + (1 - beta) KL(q || M) (Agarwal et al., ICLR
    2024, Eq. 1; TRL's GKDTrainer.generalized_jsd_loss). beta = 0 is the forward KL(p || q), beta = 1 the reverse
    KL(q || p), as TRL defines its end points.
    """
    p, logp, q, logq, mask = topk_bins(logits, teacher_ids, teacher_probs, teacher_tail, temperature)
    if beta == 0.0:
        per_token = _kl(p, logp, logq, mask)
    elif beta == 1.0:
        per_token = _kl(q, logq, logp, mask)
    else:
        logm = _mixture_log(beta, logp, logq)
        per_token = beta * _kl(p, logp, logm, mask) + (1.0 - beta) * _kl(q, logq, logm, mask)
    return sequence_mean(per_token, response_mask(labels))


def skew_forward_kl(logits, labels, teacher_ids, teacher_probs, teacher_tail, alpha: float) -> torch.Tensor:
    """alpha-skew KL of DistiLLM (Ko et al., ICML 2024, Sec. 3.1): KL(p || alpha p + (1 - alpha) q) -> [N]."""
    p, logp, q, logq, mask = topk_bins(logits, teacher_ids, teacher_probs, teacher_tail)
    return sequence_mean(_kl(p, logp, _mixture_log(alpha, logp, logq), mask), response_mask(labels))


def skew_reverse_kl(logits, labels, teacher_ids, teacher_probs, teacher_tail, alpha: float,
                    detach_mixture_student: bool = False) -> torch.Tensor:
    """alpha-skew reverse KL of DistiLLM (Ko et al., ICML 2024, Sec. 3.1): KL(q || (1 - alpha) p + alpha q) -> [N].

    ``detach_mixture_student``: the student's share of the mixture carries no gradient (the same value; DistiLLM-2's
    released trainer mixes with ``vocab_logps.detach()``), so only the KL's first argument q is trained.
    """
    p, logp, q, logq, mask = topk_bins(logits, teacher_ids, teacher_probs, teacher_tail)
    mixture = _mixture_log(1.0 - alpha, logp, logq.detach() if detach_mixture_student else logq)
    return sequence_mean(_kl(q, logq, mixture, mask), response_mask(labels))


def average_logps(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Length-normalised response log-probability (1/|y|) log pi(y|x) per sequence -> [N] (SimPO's reward / beta)."""
    return sequence_mean(token_logps(logits, labels), response_mask(labels))


def simpo_loss(chosen_avg_logps: torch.Tensor, rejected_avg_logps: torch.Tensor, beta: float, gamma: float,
               label_smoothing: float = 0.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """SimPO (Meng et al., NeurIPS 2024, Eq. 6): -log sigmoid(beta/|y_w| log pi(y_w) - beta/|y_l| log pi(y_l) - gamma).

    Takes length-normalised log-probs; returns the per-pair losses [B] and the rewards beta * avg log-prob of the
    chosen and rejected answers ([B] each, detached). ``label_smoothing`` as TRL's CPO trainer applies it.
    """
    margin = beta * (chosen_avg_logps - rejected_avg_logps) - gamma
    losses = -F.logsigmoid(margin) * (1 - label_smoothing) - F.logsigmoid(-margin) * label_smoothing
    return losses, beta * chosen_avg_logps.detach(), beta * rejected_avg_logps.detach()
