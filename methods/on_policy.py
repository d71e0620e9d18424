"""On-policy student samples during training: GKD's loop, where the student's outputs come from its current weights.

By default the methods on student samples (GKD, DistiLLM-2) train on samples of the SFT student drawn once before
training and cached as a stage (methods.on_samples). With ``resample_every = N`` (GKD's setting) every N-th
micro-batch instead gets fresh samples: the student being trained generates an answer to each of the batch's prompts
(the method's temperature and top-p, the samples stage's length limits), and the live DPO teacher's top-K on each
new answer replaces the stored one, so the loss sees exactly what the stored path would have given for those tokens
(the same ``precompute_teacher_topk``). The other micro-batches keep the cached samples.

Randomness: row r of micro-batch m samples with the stream ``item_seed(item_seed(seed, m), p * B + r)``
(methods.sampling), p being the process (0 in a single one) and B its micro-batch size: the row's place in the
step's global batch. So a run is repeated exactly, whatever else runs, no two rows of a run share a stream, and N
data-parallel processes draw the samples one process draws on the N-times micro-batch (when the data loader gives
process p the p-th slice of it, as accelerate's does). Generation always takes the Hugging Face path (vLLM would
have to reload the weights at every refresh) and needs every process to hold the whole student: plain data
parallelism (DDP) does, but under DeepSpeed or FSDP the weights may be partitioned and every rank would have to join
each other's generate calls (``synced_gpus``), which this does not do, so the training stage refuses it there.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from .examples import attach_teacher_topk, response_view
from .generate import hf_generate_ids, within_length
from .sampling import item_seed
from .topk import precompute_teacher_topk


class RawExamples:
    """A batch's example dicts, carried next to its tensors. Deliberately not a list, dict or tensor: the data loader
    and the Trainer move a batch's tensors to the device, and must leave these (CPU data the collator reads) alone."""

    __slots__ = ("items",)

    def __init__(self, items: Sequence[dict]):
        self.items = list(items)


RAW_EXAMPLES = "raw_examples"  # the batch key holding RawExamples (present only when samples are redrawn)


class KeepExamples:
    """A collator that also keeps the examples it collated, for a trainer that redraws their samples."""

    def __init__(self, collator):
        self.collator = collator

    def __call__(self, examples: list[dict]) -> dict:
        return {**self.collator(examples), RAW_EXAMPLES: RawExamples(examples)}


@dataclass
class OnPolicySamples:
    """Redraws the student samples of every ``every``-th micro-batch from the current student (see the module doc)."""

    teacher: Any  # the DPO teacher, frozen
    pad_id: int
    eos_id: int
    max_new_tokens: int
    max_length: int  # prompt + sample, as the samples stage cuts them
    temperature: float
    top_p: float
    k: int  # the teacher's top-K size, as the stored top-K stage
    seed: int
    every: int
    micro_batches: int = 0  # seen so far (by this process)
    sample_tokens: list = field(default_factory=list)  # tokens per sample this process redrew (for the stage summary)

    def __post_init__(self):
        if self.every < 1:
            raise ValueError(f"resample_every must be at least 1 to redraw samples, got {self.every}")

    def __call__(self, model, examples: Sequence[dict], process_index: int = 0) -> list[dict] | None:
        """The examples with fresh samples and the teacher's top-K on them, or None when this micro-batch keeps the
        cached samples. ``process_index``: this process's place among data-parallel ones (see the module doc)."""
        index = self.micro_batches
        self.micro_batches += 1
        if index % self.every:
            return None
        prompts = [e["prompt_ids"] for e in examples]
        was_training = model.training
        try:
            samples = hf_generate_ids(model, prompts, self.pad_id, self.eos_id, self.max_new_tokens,
                                      batch_size=len(prompts), temperature=self.temperature, top_p=self.top_p,
                                      seed=item_seed(self.seed, index), first_item=process_index * len(prompts))
        finally:
            model.train(was_training)  # generation switched it to eval
        samples = [within_length(s, p, self.max_length) for s, p in zip(samples, prompts)]
        fresh = [{**e, "sample_ids": s} for e, s in zip(examples, samples)]  # attach_teacher_topk replaces the top-K
        store = precompute_teacher_topk(self.teacher, response_view(fresh, "sample"), self.pad_id, self.k,
                                        metadata={"side": "sample", "on_policy_micro_batch": index})
        self.sample_tokens.extend(len(s) for s in samples)
        return attach_teacher_topk(fresh, store, "sample", f"on-policy teacher top-K (micro-batch {index})")

    def totals(self) -> list[int]:
        """[samples redrawn, their tokens] of this process: what a data-parallel run sums over its processes."""
        return [len(self.sample_tokens), sum(self.sample_tokens)]

    def summary(self, totals: Sequence[int] | None = None, processes: int = 1) -> dict:
        """Micro-batches seen and redrawn per process; samples and their mean length over ``totals`` (all processes'
        sums, MethodTrainer.on_policy_summary), this process's own when not given."""
        n, tokens = totals if totals is not None else self.totals()
        redrawn = -(-self.micro_batches // self.every)  # micro-batches 0, every, 2 every, ...
        return {"micro_batches": self.micro_batches, "redrawn": redrawn, "processes": processes, "samples": int(n),
                "mean_sample_tokens": tokens / n if n else None}
