"""Each method, trained a few steps on a tiny model, lowers its own loss and changes the parameters."""
from __future__ import annotations

import pytest
import torch

from methods.base import LossConfig
from methods.registry import METHODS, get_method
from methods.trainer import train, training_arguments

from methods_helpers import examples_for

STEPS = 6


@torch.no_grad()
def _loss_and_metrics(method, model, examples, pad_id, cfg):
    model.eval()
    loss, metrics = method.compute_loss(model, method.collator(pad_id)(examples), cfg)
    model.train()
    return loss.item(), metrics


@pytest.mark.parametrize("name", list(METHODS))
def test_training_lowers_own_loss(name, tokenizer, tiny_model, tiny_teacher, tmp_path):
    method = get_method(name)
    cfg = LossConfig(beta=0.1)
    examples = examples_for(name, tokenizer, tiny_model, tiny_teacher, n=4)
    pad = tokenizer.pad_token_id
    loss0, metrics0 = _loss_and_metrics(method, tiny_model, examples, pad, cfg)
    before = [p.detach().clone() for p in tiny_model.parameters()]
    args = training_arguments(str(tmp_path), learning_rate=3e-3, batch_size=4, max_steps=STEPS, warmup_ratio=0.0,
                              scheduler="constant", use_cpu=True)
    trainer = train(method, tiny_model, examples, pad, cfg, args)
    loss1, metrics1 = _loss_and_metrics(method, tiny_model, examples, pad, cfg)
    assert trainer.state.global_step == STEPS
    assert loss1 < loss0 - 1e-3, (loss0, loss1)
    changed = sum(not torch.equal(a, b.detach()) for a, b in zip(before, tiny_model.parameters()))
    assert changed == len(before)
    logged = [h for h in trainer.state.log_history if "loss" in h]
    assert len(logged) == STEPS and all(set(metrics0) <= set(h) for h in logged)  # every loss term is logged
    if name == "dpo":
        assert metrics0["rewards/margins"] == pytest.approx(0.0, abs=1e-4)  # the reference is the initial student
        assert metrics1["rewards/margins"] > metrics0["rewards/margins"] + 1e-3
        assert metrics1["rewards/accuracies"] > 0.5
