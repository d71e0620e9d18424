from __future__ import annotations

from .base import ADVANTAGES, STUDENT_SAMPLES, LossConfig, Method, halves, shifted_forward
from .losses import expected_advantage, nll_loss


class ADPA(Method):
    """Pairs the chosen answer with the student's own sample; preference labels are not used."""

    name = "adpa"
    label = "ADPA"
    headline = {"gamma": ("adpa_weight",)}  # the paper's gamma: the weight of the advantage term
    description = "Advantage-guided distillation: NLL on chosen + expected teacher advantage on student samples."
    data = "preference"
    needs = frozenset({STUDENT_SAMPLES, ADVANTAGES})
    init = "sft"
    sample_generator = "sft"
    second = "sample"

    def compute_loss(self, model, batch, cfg: LossConfig):
        out = shifted_forward(model, batch)
        logits_c, logits_s = halves(out["logits"])
        labels_c, labels_s = halves(out["labels"])
        _, ids_s = halves(out["advantage_ids"])
        _, adv_s = halves(out["advantages"])
        nll = nll_loss(logits_c, labels_c)
        expected = expected_advantage(logits_s, labels_s, ids_s, adv_s, cfg.clip_range).mean()
        loss = cfg.sft_weight * nll - cfg.adpa_weight * expected
        expected = expected.detach()  # metrics stay on the device: no host sync per micro-batch
        return loss, {"loss/nll": nll.detach(), "loss/adpa": -expected, "adpa/expected_advantage": expected}


class ADPAPlus(ADPA):
    name = "adpa_plus"
    label = "ADPA+"
    description = "ADPA started from, and sampled by, the DCKD student."
    init = "dckd"
    sample_generator = "dckd"
