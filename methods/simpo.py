"""SimPO: simple preference optimisation with a reference-free reward (Meng, Xia and Chen, NeurIPS 2024).

Loss (the paper's Eq. 6): L = -log sigmoid( beta/|y_w| log pi(y_w|x) - beta/|y_l| log pi(y_l|x) - gamma ),
the reward being the length-normalised log-likelihood scaled by beta, gamma a target reward margin. No reference
model, no precompute: it needs the preference pairs only. TRL implements it as CPOTrainer with
``loss_type="simpo"`` and ``cpo_alpha=0`` (the test compares with TRL's cpo_loss).

Defaults: beta = 2.0, gamma = 1.0, the paper's Llama-3-Base setting (its hyper-parameter table lists beta 2.0-2.5
and gamma 0.3-1.6 over its four set-ups; base models use beta = 2.0). The paper's learning rates (3e-7 to 1e-6)
are for thousands of steps; recipes set their own.
"""
from __future__ import annotations

from dataclasses import dataclass

from .base import LossConfig, Method, halves, shifted_forward
from .beyond_losses import average_logps, simpo_loss
from .settings import MethodSettings, in_range


@dataclass(frozen=True)
class SimPOSettings(MethodSettings):
    beta: float = 2.0  # reward scale on the average log-likelihood
    gamma: float = 1.0  # target reward margin
    label_smoothing: float = 0.0  # as TRL's CPO trainer (0: the paper's loss)

    def check(self) -> None:
        in_range("beta", self.beta, 0.0, 1e3, low_open=True)
        in_range("gamma", self.gamma, 0.0, 1e3)
        in_range("label_smoothing", self.label_smoothing, 0.0, 0.5, high_open=True)


class SimPO(Method):
    name = "simpo"
    label = "SimPO"
    headline = {}
    description = "SimPO: length-normalised log-likelihood margin with target margin gamma; no reference model."
    data = "preference"
    init = "sft"
    Settings = SimPOSettings
    paper = False

    def compute_loss(self, model, batch, cfg: LossConfig):
        s = self.settings(cfg)
        out = shifted_forward(model, batch)
        chosen, rejected = halves(average_logps(out["logits"], out["labels"]))
        losses, chosen_rewards, rejected_rewards = simpo_loss(chosen, rejected, s.beta, s.gamma, s.label_smoothing)
        loss = losses.mean()
        return loss, {
            "loss/simpo": loss.detach(),
            "rewards/chosen": chosen_rewards.mean(),
            "rewards/rejected": rejected_rewards.mean(),
            "rewards/margins": (chosen_rewards - rejected_rewards).mean(),
            "rewards/accuracies": (chosen_rewards > rejected_rewards).float().mean(),
            "logps/chosen_avg": chosen.detach().mean(),
            "logps/rejected_avg": rejected.detach().mean(),
        }
