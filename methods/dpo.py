from __future__ import annotations

from .base import REF_LOGPS, LossConfig, Method, halves, shifted_forward
from .losses import dpo_loss, sequence_logps


class DPO(Method):
    name = "dpo"
    label = "DPO"
    description = "Direct preference optimisation (sigmoid loss) against precomputed reference log-probs."
    data = "preference"
    needs = frozenset({REF_LOGPS})

    def compute_loss(self, model, batch, cfg: LossConfig):
        out = shifted_forward(model, batch)
        chosen_logps, rejected_logps = halves(sequence_logps(out["logits"], out["labels"]))
        losses, chosen_rewards, rejected_rewards = dpo_loss(
            chosen_logps, rejected_logps, batch["ref_chosen_logps"], batch["ref_rejected_logps"], cfg.beta, cfg.label_smoothing
        )
        loss = cfg.dpo_weight * losses.mean()
        return loss, {
            "loss/dpo": losses.mean().item(),
            "rewards/chosen": chosen_rewards.mean().item(),
            "rewards/rejected": rejected_rewards.mean().item(),
            "rewards/margins": (chosen_rewards - rejected_rewards).mean().item(),
            "rewards/accuracies": (chosen_rewards > rejected_rewards).float().mean().item(),
            "logps/chosen": chosen_logps.detach().mean().item(),
            "logps/rejected": rejected_logps.detach().mean().item(),
        }
