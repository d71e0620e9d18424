from __future__ import annotations

import torch

from .base import REF_LOGPS, LossConfig, Method, halves, shifted_forward
from .losses import dpo_loss, sequence_logps


def require_wide(values: torch.Tensor, name: str) -> torch.Tensor:
    """A summed log-prob near -300 moves in steps of 2 nats in bf16 (1/8 in fp16): more than the DPO margins learned.
    The batch keeps them fp64 (methods.batching) and MethodTrainer keeps them out of DeepSpeed's input cast."""
    if values.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"{name} reached the DPO loss as {values.dtype}; it must stay fp32 or wider (a batch cast to the "
                        "model's dtype on its way to the loss?)")
    return values


class DPO(Method):
    name = "dpo"
    label = "DPO"
    description = "Direct preference optimisation (sigmoid loss) against precomputed reference log-probs."
    data = "preference"
    needs = frozenset({REF_LOGPS})

    def compute_loss(self, model, batch, cfg: LossConfig):
        for key in ("ref_chosen_logps", "ref_rejected_logps"):
            require_wide(batch[key], key)
        out = shifted_forward(model, batch)
        chosen_logps, rejected_logps = halves(sequence_logps(out["logits"], out["labels"]))
        losses, chosen_rewards, rejected_rewards = dpo_loss(
            chosen_logps, rejected_logps, batch["ref_chosen_logps"], batch["ref_rejected_logps"], cfg.beta, cfg.label_smoothing
        )
        loss = cfg.dpo_weight * losses.mean()
        # Metrics stay detached tensors on the device (no .item(): a host sync per micro-batch); the trainer
        # turns them into numbers when it logs.
        return loss, {
            "loss/dpo": losses.detach().mean(),
            "rewards/chosen": chosen_rewards.mean(),
            "rewards/rejected": rejected_rewards.mean(),
            "rewards/margins": (chosen_rewards - rejected_rewards).mean(),
            "rewards/accuracies": (chosen_rewards > rejected_rewards).float().mean(),
            "logps/chosen": chosen_logps.detach().mean(),
            "logps/rejected": rejected_logps.detach().mean(),
        }
