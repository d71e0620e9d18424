"""An independent float64 reference for every method's loss, written from the method spec (section 2).

Nothing here calls methods/: each sequence is run through the model on its own (no padding, no column
cropping), every next-token distribution is a full-vocabulary softmax of one position, and every reduction is
an explicit loop: a token mean within each sequence, then a plain mean over sequences. Results are torch
scalars so that gradients can be compared too.

Alignment (spec section 1, "Storage and alignment"): entry j of a per-token store row belongs to response token
j, which is predicted by the logits at position len(prompt) + j - 1.
"""
from __future__ import annotations

import math

import torch

Q_FLOOR = 1e-7  # every student bin (the K tokens and the rest bin) is raised to 1e-7 before its log (spec 2(c))


def response_log_softmax(model, prompt: list[int], response: list[int]) -> list[torch.Tensor]:
    """For each response token j: the full-vocabulary log-distribution that predicts it ([V] each)."""
    ids = torch.tensor([list(prompt) + list(response)])
    logits = model(input_ids=ids).logits[0]
    out = []
    for j in range(len(response)):
        row = logits[len(prompt) + j - 1].double()
        out.append(row - torch.logsumexp(row, 0))
    return out


def sequence_logp(model, prompt, response) -> torch.Tensor:
    """Summed (not length-normalised) log-probability of the response."""
    dists = response_log_softmax(model, prompt, response)
    return sum(dists[j][response[j]] for j in range(len(response)))


def mean_nll(model, examples, key: str) -> torch.Tensor:
    per_sequence = []
    for e in examples:
        dists = response_log_softmax(model, e["prompt_ids"], e[key])
        per_sequence.append(-sum(dists[j][e[key][j]] for j in range(len(e[key]))) / len(e[key]))
    return sum(per_sequence) / len(per_sequence)


def log_sigmoid(x: torch.Tensor) -> torch.Tensor:
    return -torch.log1p(torch.exp(-x)) if x >= 0 else x - torch.log1p(torch.exp(x))


def dpo(model, examples, beta: float, label_smoothing: float, dpo_weight: float) -> torch.Tensor:
    losses = []
    for e in examples:
        chosen = sequence_logp(model, e["prompt_ids"], e["chosen_ids"]) - e["ref_chosen_logps"]
        rejected = sequence_logp(model, e["prompt_ids"], e["rejected_ids"]) - e["ref_rejected_logps"]
        margin = beta * (chosen - rejected)
        losses.append(-(1 - label_smoothing) * log_sigmoid(margin) - label_smoothing * log_sigmoid(-margin))
    return dpo_weight * sum(losses) / len(losses)


def _kl_one_position(logq: torch.Tensor, ids, probs, tail: float) -> torch.Tensor:
    """Forward KL over the K teacher bins plus the rest bin; ids beyond the student's width join the rest bin."""
    width = logq.shape[0]
    p_rest, q_top, terms = float(tail), 0.0, []
    for token, p in zip(ids, probs):
        if token >= width:
            p_rest += p
            continue
        q = torch.exp(logq[token])
        q_top = q_top + q
        if p > 0:
            terms.append(p * (math.log(p) - torch.log(torch.clamp(q, min=Q_FLOOR))))
    q_rest = torch.clamp(1.0 - q_top, min=Q_FLOOR) if isinstance(q_top, torch.Tensor) else torch.tensor(1.0, dtype=torch.float64)
    if p_rest > 0:
        terms.append(p_rest * (math.log(p_rest) - torch.log(q_rest)))
    return sum(terms) if terms else torch.zeros((), dtype=torch.float64)


def mean_kl(model, examples, side: str) -> torch.Tensor:
    per_sequence = []
    for e in examples:
        response, entry = e[f"{side}_ids"], e[f"{side}_teacher_topk"]
        dists = response_log_softmax(model, e["prompt_ids"], response)
        kls = [_kl_one_position(dists[j], entry["ids"][j].tolist(), entry["probs"][j].double().tolist(), float(entry["tail"][j]))
               for j in range(len(response))]
        per_sequence.append(sum(kls) / len(kls))
    return sum(per_sequence) / len(per_sequence)


def dckd(model, examples, cfg) -> torch.Tensor:
    kl = cfg.chosen_distill_weight * mean_kl(model, examples, "chosen") + cfg.rejected_distill_weight * mean_kl(model, examples, "rejected")
    return cfg.sft_weight * mean_nll(model, examples, "chosen_ids") + cfg.distill_weight * kl


def mean_expected_advantage(model, examples, clip) -> torch.Tensor:
    """sum_a q(a) A(a) over the DPO teacher's top-K tokens; the rest bin (and ids beyond the width) carry 0."""
    per_sequence = []
    for e in examples:
        response, entry = e["sample_ids"], e["sample_advantages"]
        dists = response_log_softmax(model, e["prompt_ids"], response)
        values = []
        for j in range(len(response)):
            total = torch.zeros((), dtype=torch.float64)
            for token, adv in zip(entry["ids"][j].tolist(), entry["advantages"][j].double().tolist()):
                if token >= dists[j].shape[0]:
                    continue
                if clip is not None:
                    adv = min(max(adv, clip[0]), clip[1])
                total = total + torch.exp(dists[j][token]) * adv
            values.append(total)
        per_sequence.append(sum(values) / len(values))
    return sum(per_sequence) / len(per_sequence)


def adpa(model, examples, cfg) -> torch.Tensor:
    expected = mean_expected_advantage(model, examples, cfg.clip_range)
    return cfg.sft_weight * mean_nll(model, examples, "chosen_ids") - cfg.adpa_weight * expected


def sft(model, examples, cfg) -> torch.Tensor:
    return mean_nll(model, examples, "response_ids")


def loss(name: str, model, examples, cfg) -> torch.Tensor:
    if name == "sft":
        return sft(model, examples, cfg)
    if name == "dpo":
        return dpo(model, examples, cfg.beta, cfg.label_smoothing, cfg.dpo_weight)
    if name == "dckd":
        return dckd(model, examples, cfg)
    return adpa(model, examples, cfg)
