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
during training is not implemented, and the released trainer ships it switched off, ``update_alpha = False``),
samples at temperature 0.8, top-p 0.95 (the released generation script's defaults), one per prompt.

``variant``: "paper" (default, the loss above) or "released_code", the loss of the authors' trainer
(jongwooko/distillm-2, ``src/distillm_trainer.py``, ``loss_type: distillm_v2``), which differs in two ways:
the two terms are summed, not averaged (``(2 - beta) * chosen_kl + beta * rejected_kl`` with beta = 1; a factor of 2
that matters under gradient clipping), and the student's share of the SRKL mixture is detached
(``log_alpha_2 + vocab_logps.detach()``), so its gradient flows only through the KL's first argument.
"""
from __future__ import annotations

from dataclasses import dataclass

from .base import LossConfig, halves, shifted_forward
from .beyond_losses import skew_forward_kl, skew_reverse_kl
from .on_samples import OnStudentSamples
from .settings import MethodSettings, SamplingSchedule, in_range

VARIANTS = ("paper", "released_code")


@dataclass(frozen=True)
class DistiLLM2Settings(MethodSettings):
    alpha: float = 0.1  # skew: the weight of a divergence's own first argument in its mixture
    sample_temperature: float = 0.8
    top_p: float = 0.95
    samples_per_prompt: int = 1
    variant: str = "paper"  # or "released_code": summed terms, the SRKL mixture's student share detached

    def check(self) -> None:
        in_range("alpha", self.alpha, 0.0, 1.0, high_open=True)
        if self.variant not in VARIANTS:
            raise ValueError(f"variant must be one of {', '.join(VARIANTS)}, got {self.variant!r}")
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
        released = s.variant == "released_code"
        skl = skew_forward_kl(logits_c, labels_c, ids_c, probs_c, tail_c, s.alpha).mean()
        srkl = skew_reverse_kl(logits_s, labels_s, ids_s, probs_s, tail_s, s.alpha,
                               detach_mixture_student=released).mean()
        loss = skl + srkl if released else 0.5 * (skl + srkl)
        return loss, {"loss/skl_chosen": skl.detach(), "loss/srkl_samples": srkl.detach()}
