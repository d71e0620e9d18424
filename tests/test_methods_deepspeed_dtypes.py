"""DPO's reference log-probs (and every other float in a batch) reach the loss in the dtype the collator built
(issue 21, item 2), under the casts a DeepSpeed run applies:

- transformers' ``Trainer._prepare_input`` casts every floating tensor of a batch to the DeepSpeed dtype
  (``hf_ds_config.dtype()``: bf16 under configs/accelerate/zero3.yaml) when DeepSpeed is on;
- DeepSpeed's engine casts the floating inputs of a forward to its half dtype (``_cast_inputs_half``).

DeepSpeed is not installed here, so a stub stands in for each, casting exactly as they do. A summed log-prob near
-300 moves in steps of 2 nats in bf16: more than the DPO margins being learned (tens of millinats at beta 0.1).
"""
from __future__ import annotations

import copy
from types import SimpleNamespace

import pytest
import torch
from transformers import Trainer

import methods.dpo as dpo_module
from methods.base import LossConfig
from methods.registry import get_method
from methods.trainer import ExamplesDataset, MethodTrainer, training_arguments

from methods_helpers import examples_for, on_cpu

FLOAT_KEYS = ("ref_chosen_logps", "ref_rejected_logps", "teacher_probs", "teacher_tail", "advantages")


class StubEngine(torch.nn.Module):
    """DeepSpeed's engine in its half-precision modes: a forward's floating tensor inputs are cast to bf16 first."""

    def __init__(self, module: torch.nn.Module):
        super().__init__()
        self.module = module
        self.cast: list[str] = []

    def forward(self, **kwargs):
        for key, value in kwargs.items():
            if isinstance(value, torch.Tensor) and value.is_floating_point():
                kwargs[key] = value.to(torch.bfloat16)
                self.cast.append(key)
        return self.module(**kwargs)


def _deepspeed_trainer(model, examples, method, pad, tmp_path) -> MethodTrainer:
    """A MethodTrainer that believes it runs under DeepSpeed bf16 (what Trainer._prepare_input reads)."""
    args = training_arguments(str(tmp_path), learning_rate=1e-3, batch_size=4, max_steps=1, use_cpu=on_cpu(model))
    trainer = MethodTrainer(model=model, args=args, train_dataset=ExamplesDataset(examples),
                            data_collator=method.collator(pad), method=method, loss_config=LossConfig(beta=0.1))
    trainer.is_deepspeed_enabled = True
    trainer.accelerator = SimpleNamespace(state=SimpleNamespace(deepspeed_plugin=SimpleNamespace(
        hf_ds_config=SimpleNamespace(dtype=lambda: torch.bfloat16))))
    return trainer


@pytest.mark.parametrize("name", ["dpo", "dckd", "adpa"])
def test_batch_floats_keep_their_dtype_through_the_deepspeed_input_path(name, tokenizer, tiny_model, tiny_teacher, tmp_path):
    method, pad = get_method(name), tokenizer.pad_token_id
    examples = examples_for(name, tokenizer, tiny_model, tiny_teacher, n=4)
    batch = method.collator(pad)(examples)
    floats = {k: v.dtype for k, v in batch.items() if k in FLOAT_KEYS}
    assert floats and all(d in (torch.float32, torch.float64) for d in floats.values())
    trainer = _deepspeed_trainer(tiny_model, examples, method, pad, tmp_path)
    # the stub reproduces the Trainer's own DeepSpeed cast: what MethodTrainer replaced would give bf16
    assert all(Trainer._prepare_input(trainer, batch[k]).dtype == torch.bfloat16 for k in floats)
    prepared = trainer._prepare_inputs(batch)
    assert {k: prepared[k].dtype for k in floats} == floats
    assert {v.device for v in prepared.values() if isinstance(v, torch.Tensor)} == {trainer.args.device}


def test_reference_logps_reach_the_dpo_loss_in_fp64_under_a_deepspeed_engine(tokenizer, tiny_model, tiny_teacher, tmp_path,
                                                                             monkeypatch):
    method, pad = get_method("dpo"), tokenizer.pad_token_id
    examples = examples_for("dpo", tokenizer, tiny_model, tiny_teacher, n=4)
    trainer = _deepspeed_trainer(tiny_model, examples, method, pad, tmp_path)
    seen = {}
    real = dpo_module.dpo_loss

    def spy(pc, pr, rc, rr, *args):
        seen.update(ref_chosen=rc.dtype, ref_rejected=rr.dtype)
        return real(pc, pr, rc, rr, *args)

    monkeypatch.setattr(dpo_module, "dpo_loss", spy)
    engine = StubEngine(tiny_model).train()
    prepared = trainer._prepare_inputs(method.collator(pad)(examples))
    loss = trainer.compute_loss(engine, prepared)
    assert seen == {"ref_chosen": torch.float64, "ref_rejected": torch.float64}
    assert engine.cast == []  # the model's inputs are ids and masks: nothing of the loss's goes through the engine's cast
    plain, _ = method.compute_loss(copy.deepcopy(tiny_model).train(), prepared, LossConfig(beta=0.1))
    assert loss.item() == pytest.approx(plain.item(), rel=1e-6)


def test_the_dpo_loss_refuses_reference_logps_below_fp32(tokenizer, tiny_model, tiny_teacher):
    """Had a cast happened anyway, the loss stops with the name of the tensor rather than learn from rounded values.
    How much bf16 loses there: -300.3 becomes -300 (and every value between -302 and -298 is one of three)."""
    assert torch.tensor(-300.3, dtype=torch.float64).to(torch.bfloat16).item() == -300.0
    method, pad = get_method("dpo"), tokenizer.pad_token_id
    batch = method.collator(pad)(examples_for("dpo", tokenizer, tiny_model, tiny_teacher, n=2))
    batch["ref_rejected_logps"] = batch["ref_rejected_logps"].to(torch.bfloat16)
    with pytest.raises(TypeError, match="ref_rejected_logps reached the DPO loss as torch.bfloat16"):
        method.compute_loss(tiny_model, batch, LossConfig())
