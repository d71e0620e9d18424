"""The one training loop: a transformers.Trainer whose loss is the method's.

Running the same script under ``accelerate launch`` (several processes, DeepSpeed) needs no change:
the Trainer handles devices, data sharding and gradient synchronisation. Precision follows one policy
(methods.precision): fp32 trainable weights, bf16 autocast where the policy and the device allow it,
fp32 logits for every loss.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Sequence

import torch
from torch.utils.data import Dataset
from transformers import Trainer, TrainingArguments

from .base import LossConfig, Method
from .lm_head import use_fp32_lm_head
from .precision import Precision


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
    def __init__(self, *args, method: Method, loss_config: LossConfig, **kwargs):
        model = kwargs.get("model", args[0] if args else None)
        if model is not None:
            check_trainable_fp32(model)
            use_fp32_lm_head(model)  # before the Trainer wraps the model (DDP / DeepSpeed)
        super().__init__(*args, **kwargs)
        self.method = method
        self.loss_config = loss_config
        # Every loss is a per-sequence mean, so gradient accumulation must average micro-batches
        # (the Trainer only does so when it believes the model does not take loss kwargs).
        self.model_accepts_loss_kwargs = False
        self._metrics: dict[str, list[float]] = defaultdict(list)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        loss, metrics = self.method.compute_loss(model, inputs, self.loss_config)
        if model.training:
            for key, value in metrics.items():
                self._metrics[key].append(value)
        return (loss, None) if return_outputs else loss

    def log(self, logs: dict, *args, **kwargs) -> None:
        if self._metrics and "loss" in logs:
            logs.update({key: sum(v) / len(v) for key, v in self._metrics.items()})
            self._metrics.clear()
        super().log(logs, *args, **kwargs)


def training_arguments(output_dir: str, *, learning_rate: float, precision: Precision | None = None, epochs: float = 1.0,
                       batch_size: int = 1, grad_accum: int = 1, seed: int = 42, warmup_ratio: float = 0.1,
                       scheduler: str = "cosine", max_steps: int = -1, logging_steps: int = 1, **extra) -> TrainingArguments:
    """Recipe defaults. ``bf16=True`` (autocast over the fp32 weights) exactly when ``precision`` (default:
    ``Precision()``) asks for it and the device supports it: a bf16 GPU, or a CPU with ``cpu_bf16``."""
    precision = precision or Precision()
    device = "cpu" if extra.get("use_cpu") or not torch.cuda.is_available() else "cuda"
    bf16 = precision.train_autocast(device)
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
          args: TrainingArguments, callbacks=None) -> MethodTrainer:
    trainer = MethodTrainer(
        model=model, args=args, train_dataset=ExamplesDataset(examples), data_collator=method.collator(pad_id),
        method=method, loss_config=loss_config, callbacks=callbacks,
    )
    trainer.train()
    return trainer
