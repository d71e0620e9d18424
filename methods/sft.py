from __future__ import annotations

from .base import LossConfig, Method, shifted_forward
from .losses import nll_loss


class SFT(Method):
    name = "sft"
    label = "SFT"
    description = "Supervised fine-tuning: token NLL on the dataset's answer."
    data = "sft"
    init = "base"

    def compute_loss(self, model, batch, cfg: LossConfig):
        out = shifted_forward(model, batch)
        loss = nll_loss(out["logits"], out["labels"])
        return loss, {"loss/nll": loss.detach()}  # a tensor: no host sync per micro-batch
