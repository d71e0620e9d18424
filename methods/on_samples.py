"""What the distillations on the student's own samples (GKD, DistiLLM-2) share: their data and their sampling.

Each training pair is (a chosen answer, a sample of the SFT student for the same prompt), drawn once before training
on the schedule the method's settings give (``schedule()``), and the DPO teacher's top-K is stored for both halves
(GKD's ``resample_every`` redraws the samples during training instead: methods.on_policy).
The methods differ only in their loss.
"""
from __future__ import annotations

from .base import SAMPLE_TOPK, STUDENT_SAMPLES, TEACHER_TOPK, Method


class OnStudentSamples(Method):
    headline = {}
    data = "preference"
    needs = frozenset({TEACHER_TOPK, STUDENT_SAMPLES, SAMPLE_TOPK})
    init = "sft"
    sample_generator = "sft"  # the samples come from the SFT student, the checkpoint training starts from
    second = "sample"
    paper = False

    def sampling(self, cfg):
        return self.settings(cfg).schedule()
