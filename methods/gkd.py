"""GKD: generalised knowledge distillation on the student's own samples (Agarwal et al., ICLR 2024).

Loss: the generalised Jensen-Shannon divergence JSD_beta(p_T || q_S) = beta KL(p || M) + (1 - beta) KL(q || M),
M = beta p + (1 - beta) q (the paper's Eq. 1; TRL's ``GKDTrainer.generalized_jsd_loss``, with which the test
compares), per token at temperature T, on a mix of outputs: with probability lambda a batch holds the student's
own samples (on-policy), otherwise the data set's outputs. Here both halves of every pair batch are present (the
chosen answer and a student sample of the same prompt), so the loss is the expectation of that coin:

    L = lambda * JSD(samples) + (1 - lambda) * JSD(chosen answers)

The teacher is the DPO teacher (as for DCKD and ADPA), known through its top-K distribution plus a tail bin
(methods.beyond_losses). By default samples are drawn once from the SFT student before training, at ``temperature``,
and cached (methods.settings.SamplingSchedule): not regenerated during training, a departure from GKD's on-policy
loop. ``resample_every = N`` (N >= 1) restores the loop: every N-th micro-batch's samples are redrawn from the student
being trained and scored by the live teacher (methods.on_policy; N = 1 is GKD's on-policy setting, where every batch
holds fresh student outputs). It costs one generation and one teacher forward per redrawn micro-batch.

Defaults: TRL's GKDConfig (lmbda 0.5, beta 0.5, temperature 0.9); the paper's Table/Fig. ablations favour on-policy
data (lambda = 1) and a task-dependent beta.
"""
from __future__ import annotations

from dataclasses import dataclass

from .base import LossConfig, halves, shifted_forward
from .beyond_losses import generalized_jsd
from .on_samples import OnStudentSamples
from .settings import MethodSettings, SamplingSchedule, in_range


@dataclass(frozen=True)
class GKDSettings(MethodSettings):
    lmbda: float = 0.5  # weight of the student's samples (GKD's lambda: the on-policy fraction)
    beta: float = 0.5  # JSD interpolation: 0 forward KL, 1 reverse KL
    temperature: float = 0.9  # of the loss's distributions and of sampling
    top_p: float = 1.0  # of sampling
    samples_per_prompt: int = 1
    resample_every: int = 0  # 0: the cached samples throughout; N: redraw every N-th micro-batch's (methods.on_policy)

    def check(self) -> None:
        if self.resample_every < 0:
            raise ValueError("resample_every must be 0 (samples drawn once) or a number of micro-batches, "
                             f"got {self.resample_every}")
        in_range("lmbda", self.lmbda, 0.0, 1.0)
        in_range("beta", self.beta, 0.0, 1.0)
        in_range("temperature", self.temperature, 0.0, 10.0, low_open=True)
        self.schedule()

    def schedule(self) -> SamplingSchedule:
        return SamplingSchedule(self.temperature, self.top_p, self.samples_per_prompt)


class GKD(OnStudentSamples):
    name = "gkd"
    label = "GKD"
    description = "GKD: generalised JSD to the DPO teacher's top-K on student samples (lambda) and chosen answers."
    Settings = GKDSettings

    def compute_loss(self, model, batch, cfg: LossConfig):
        s = self.settings(cfg)
        out = shifted_forward(model, batch)
        jsd = generalized_jsd(out["logits"], out["labels"], out["teacher_ids"], out["teacher_probs"], out["teacher_tail"],
                              s.beta, s.temperature)
        on_chosen, on_samples = (half.mean() for half in halves(jsd))
        loss = s.lmbda * on_samples + (1.0 - s.lmbda) * on_chosen
        return loss, {"jsd/samples": on_samples.detach(), "jsd/chosen": on_chosen.detach()}
