from __future__ import annotations

from .base import TEACHER_TOPK, LossConfig, Method, halves, shifted_forward
from .losses import nll_loss, topk_forward_kl


class DCKD(Method):
    name = "dckd"
    label = "DCKD"
    # The paper's alpha weighs both KL terms (method spec, section 2(c)): Figure 5 sweeps it.
    headline = {"alpha": ("chosen_distill_weight", "rejected_distill_weight")}
    description = "Dual-constrained KD: NLL on chosen + forward KL to the DPO teacher's top-K on chosen and rejected."
    data = "preference"
    needs = frozenset({TEACHER_TOPK})

    def compute_loss(self, model, batch, cfg: LossConfig):
        out = shifted_forward(model, batch)
        logits_c, logits_r = halves(out["logits"])
        labels_c, labels_r = halves(out["labels"])
        ids_c, ids_r = halves(out["teacher_ids"])
        probs_c, probs_r = halves(out["teacher_probs"])
        tail_c, tail_r = halves(out["teacher_tail"])
        nll = nll_loss(logits_c, labels_c)
        kl_c = topk_forward_kl(logits_c, labels_c, ids_c, probs_c, tail_c)
        kl_r = topk_forward_kl(logits_r, labels_r, ids_r, probs_r, tail_r)
        loss = cfg.sft_weight * nll + cfg.distill_weight * (cfg.chosen_distill_weight * kl_c + cfg.rejected_distill_weight * kl_r)
        return loss, {"loss/nll": nll.detach(), "kl/chosen": kl_c.detach(), "kl/rejected": kl_r.detach()}  # no host sync
