"""lm-eval's Hugging Face model with its own progress bars off.

lm-eval's evaluator calls ``lm.loglikelihood(requests)`` (and ``generate_until``, ``loglikelihood_rolling``) without
``disable_tqdm``, and HFLM passes ``disable=`` to tqdm explicitly, so ``TQDM_DISABLE`` cannot silence "Tokenizing
inputs" / "Running loglikelihood requests": they reached the terminal and the run log beside our own progress
(bench.progress), which already reports the evaluation.
"""
from __future__ import annotations

from lm_eval.models.huggingface import HFLM


class QuietHFLM(HFLM):
    def loglikelihood(self, requests, disable_tqdm: bool = True):
        return super().loglikelihood(requests, disable_tqdm=True)

    def loglikelihood_rolling(self, requests, disable_tqdm: bool = True):
        return super().loglikelihood_rolling(requests, disable_tqdm=True)

    def generate_until(self, requests, disable_tqdm: bool = True):
        return super().generate_until(requests, disable_tqdm=True)
