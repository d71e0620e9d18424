"""DistiLLM-2: contrastive distillation (Ko et al., ICML 2025, arXiv:2503.07067).

Loss (the paper's contrastive objective, Sec. 3): pull the student toward the teacher on teacher responses with the
alpha-skew KL, push it from its own responses with the alpha-skew reverse KL (both from DistiLLM, Ko et al. 2024):

    L = 1/2 [ KL(p || alpha p + (1 - alpha) q)  on y_t      (SKL: teacher-side responses)
            + KL(q || (1 - alpha) p + alpha q)  on y_s ]    (SRKL: student samples)

per token, token mean per sequence, mean over sequences. The teacher is the DPO teacher through its top-K
distribution plus a tail bin (methods.beyond_losses). Here the "teacher responses" y_t are the preference data's
chosen answers (the responses the DPO teacher was aligned to prefer, already scored by the teacher_topk stage)
rather than fresh teacher generations; y_s are samples of the SFT student drawn once before training and cached.

Defaults: alpha = 0.1 (DistiLLM's skew and DistiLLM-2's starting value; the paper's curriculum that adapts alpha
during training is not implemented), samples at temperature 0.8, top-p 0.95 (the released generation script's
defaults), one per prompt.
"""
from __future__ import annotations

from dataclasses import dataclass

from .base import LossConfig, halves, shifted_forward
from .beyond_losses import skew_forward_kl, skew_reverse_kl
from .on_samples import OnStudentSamples
from .settings import MethodSettings, SamplingSchedule, in_range


@dataclass(frozen=True)
class DistiLLM2Settings(MethodSettings):
    alpha: float = 0.1  # skew: the weight of a divergence's own first argument in its mixture
    sample_temperature: float = 0.8
    top_p: float = 0.95
    samples_per_prompt: int = 1

    def check(self) -> None:
        in_range("alpha", self.alpha, 0.0, 1.0, high_open=True)
        self.schedule()

    def schedule(self) -> SamplingSchedule:
        return SamplingSchedule(self.sample_temperature, self.top_p, self.samples_per_prompt)


class DistiLLM2(OnStudentSamples):
    name = "distillm2"
    label = "DistiLLM-2"
    description = "DistiLLM-2: skew KL toward the DPO teacher on chosen answers + skew reverse KL on student samples."
    Settings = DistiLLM2Settings

    def compute_loss(self, model, batch, cfg: LossConfig):
        s = self.settings(cfg)
        out = shifted_forward(model, batch)
        logits_c, logits_s = halves(out["logits"])
        labels_c, labels_s = halves(out["labels"])
        ids_c, ids_s = halves(out["teacher_ids"])
        probs_c, probs_s = halves(out["teacher_probs"])
        tail_c, tail_s = halves(out["teacher_tail"])
        skl = skew_forward_kl(logits_c, labels_c, ids_c, probs_c, tail_c, s.alpha).mean()
        srkl = skew_reverse_kl(logits_s, labels_s, ids_s, probs_s, tail_s, s.alpha).mean()
        loss = 0.5 * (skl + srkl)
        return loss, {"loss/skl_chosen": skl.detach(), "loss/srkl_samples": srkl.detach()}
