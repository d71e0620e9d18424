"""The one training loop: a transformers.Trainer whose loss is the method's.

Running the same script under ``accelerate launch`` (several processes, DeepSpeed) needs no change:
the Trainer handles devices, data sharding and gradient synchronisation. Precision follows one policy
(methods.precision): fp32 trainable weights, bf16 autocast where the policy and the device allow it,
fp32 logits for every loss.

Batches hold float data that only the loss reads (DPO's reference log-probs in fp64, the teacher's top-K
probabilities, the advantages): they move to the device without the dtype cast the Trainer applies under DeepSpeed,
which would round a summed log-prob of -300 to bf16 (steps of 2 nats). Logged loss terms stay on the device until a
logging step (every ``logging_steps`` optimiser steps: each log waits for the GPU).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Sequence

import torch
from torch.utils.data import Dataset
from transformers import PrinterCallback, Trainer, TrainingArguments

from .base import LossConfig, Method
from .lm_head import use_fp32_lm_head
from .on_policy import RAW_EXAMPLES, KeepExamples, OnPolicySamples
from .precision import Precision


GPU_LOGGING_STEPS = 10  # optimiser steps between logs on a GPU (a NaN still shows: it poisons the logged mean)


class ExamplesDataset(Dataset):
    """A list of tokenised example dicts (teacher entries included) as a map-style dataset."""

    def __init__(self, examples: Sequence[dict]):
        self.examples = list(examples)

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, i: int) -> dict:
        return self.examples[i]


def check_trainable_fp32(model) -> None:
    """AdamW must update fp32 master weights: on bf16 weights most small updates round away to nothing."""
    for name, param in model.named_parameters():
        if param.requires_grad and param.dtype not in (torch.float32, torch.float64):
            raise ValueError(f"trainable parameter {name} is {param.dtype}: load a model that is trained in fp32 "
                             "(Precision.trainable_dtype) and let bf16 enter through autocast (Precision.train)")


class MethodTrainer(Trainer):
    def __init__(self, *args, method: Method, loss_config: LossConfig, on_policy: OnPolicySamples | None = None,
                 **kwargs):
        model = kwargs.get("model", args[0] if args else None)
        if model is not None:
            check_trainable_fp32(model)
            use_fp32_lm_head(model)  # before the Trainer wraps the model (DDP / DeepSpeed)
        if on_policy is not None:  # batches carry their examples, whose samples training_step redraws
            kwargs["data_collator"] = KeepExamples(kwargs["data_collator"])
        super().__init__(*args, **kwargs)
        self.method = method
        self.loss_config = loss_config
        self.on_policy = on_policy
        # Every loss is a per-sequence mean, so gradient accumulation must average micro-batches
        # (the Trainer only does so when it believes the model does not take loss kwargs).
        self.model_accepts_loss_kwargs = False
        # loss term -> (running sum, micro-batches): sums stay tensors on the device until the next log
        self._metric_sums: dict = {}
        self._metric_counts: dict[str, int] = defaultdict(int)

    def _prepare_input(self, data):
        """Tensors to the device, dtypes kept. The Trainer's own version casts every floating tensor to DeepSpeed's
        dtype (bf16 under configs/accelerate/zero3.yaml); the model's inputs here are integer ids and masks, and every
        float in a batch is data for the loss, which must reach it in fp32 or wider."""
        if isinstance(data, Mapping):
            return type(data)({k: self._prepare_input(v) for k, v in data.items()})
        if isinstance(data, (tuple, list)):
            return type(data)(self._prepare_input(v) for v in data)
        if isinstance(data, torch.Tensor):
            return data.to(device=self.args.device)
        return data

    def training_step(self, model, inputs, *args, **kwargs):
        """With on-policy samples: the micro-batch's samples redrawn from the current weights (methods.on_policy)
        before its loss, on the micro-batches whose turn it is."""
        raw = inputs.pop(RAW_EXAMPLES, None)  # present exactly when on_policy is set (KeepExamples)
        if raw is not None:
            # the process index places its rows' sampling streams in the step's global batch
            fresh = self.on_policy(self.accelerator.unwrap_model(model), raw.items, self.args.process_index)
            if fresh is not None:
                inputs = self.data_collator.collator(fresh)  # moved to the device by the Trainer's _prepare_inputs
        return super().training_step(model, inputs, *args, **kwargs)

    def on_policy_summary(self) -> dict | None:
        """What the redraws did (OnPolicySamples.summary), samples counted over every process. A collective under
        several processes: every process calls it."""
        if self.on_policy is None:
            return None
        totals = self.on_policy.totals()
        if self.args.world_size > 1:
            local = torch.tensor(totals, dtype=torch.float64, device=self.args.device)
            totals = [int(v) for v in self.accelerator.reduce(local, reduction="sum").tolist()]
        return self.on_policy.summary(totals, processes=self.args.world_size)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        loss, metrics = self.method.compute_loss(model, inputs, self.loss_config)
        if model.training:
            for key, value in metrics.items():
                value = value.detach().double() if isinstance(value, torch.Tensor) else float(value)
                self._metric_sums[key] = self._metric_sums.get(key, 0.0) + value
                self._metric_counts[key] += 1
        return (loss, None) if return_outputs else loss

    def log(self, logs: dict, *args, **kwargs) -> None:
        if self._metric_sums and "loss" in logs:
            logs.update({key: float(total) / self._metric_counts[key] for key, total in self._metric_sums.items()})
            self._metric_sums.clear()
            self._metric_counts.clear()
        super().log(logs, *args, **kwargs)


def training_arguments(output_dir: str, *, learning_rate: float, precision: Precision | None = None, epochs: float = 1.0,
                       batch_size: int = 1, grad_accum: int = 1, seed: int = 42, warmup_ratio: float = 0.1,
                       scheduler: str = "cosine", max_steps: int = -1, logging_steps: int | None = None,
                       **extra) -> TrainingArguments:
    """Recipe defaults. ``bf16=True`` (autocast over the fp32 weights) exactly when ``precision`` (default:
    ``Precision()``) asks for it and the device supports it: a GPU of compute capability >= 8.0, or a CPU with
    ``cpu_bf16``. ``logging_steps`` defaults to every step on a CPU and every GPU_LOGGING_STEPS steps on a GPU, where
    each log reads the loss back from the device (a sync)."""
    precision = precision or Precision()
    device = "cpu" if extra.get("use_cpu") or not torch.cuda.is_available() else "cuda"
    bf16 = precision.train_autocast(device)
    if logging_steps is None:
        logging_steps = 1 if device == "cpu" else GPU_LOGGING_STEPS
    return TrainingArguments(
        output_dir=output_dir, learning_rate=learning_rate, num_train_epochs=epochs, max_steps=max_steps,
        per_device_train_batch_size=batch_size, gradient_accumulation_steps=grad_accum, seed=seed, data_seed=seed,
        warmup_steps=float(warmup_ratio), lr_scheduler_type=scheduler, logging_steps=logging_steps, bf16=bf16,
        remove_unused_columns=False, report_to=[], save_strategy="no",
        optim="adamw_torch", dataloader_num_workers=0, disable_tqdm=True,
        # Log a NaN / infinite loss as it is (the Trainer's default replaces it by the running mean, i.e. 0.0 at the
        # first step): bench's non-finite guard must see it, and a summary must not show a diverged run as loss 0.
        logging_nan_inf_filter=False, **extra,
    )


def train(method: Method, model, examples: Sequence[dict], pad_id: int, loss_config: LossConfig,
          args: TrainingArguments, callbacks=None, on_policy: OnPolicySamples | None = None) -> MethodTrainer:
    trainer = MethodTrainer(
        model=model, args=args, train_dataset=ExamplesDataset(examples), data_collator=method.collator(pad_id),
        method=method, loss_config=loss_config, callbacks=callbacks, on_policy=on_policy,
    )
    # disable_tqdm makes the Trainer print every log dict to stdout (PrinterCallback); bench shows its own progress
    # and the dicts stay in trainer.state.log_history.
    trainer.remove_callback(PrinterCallback)
    trainer.train()
    return trainer
