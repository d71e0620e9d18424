"""What each kind of stage computes. Every runner writes only into ``out`` (a temporary directory that the runner
renames into place afterwards) and returns a small summary for the stage's manifest."""
from __future__ import annotations

from .eval_stage import run_eval
from .precompute import run_advantages, run_sample_topk, run_topk
from .samples import run_samples
from .train_stage import run_train

RUNNERS = {"train": run_train, "topk": run_topk, "samples": run_samples, "advantages": run_advantages, "eval": run_eval,
           "sample_topk": run_sample_topk}
