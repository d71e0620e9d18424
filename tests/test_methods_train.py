"""The Trainer optimises exactly Method.compute_loss: one plain SGD step through MethodTrainer moves every parameter
by -lr * (the gradient of compute_loss on the collated batch), and every loss term is logged. (Whether that loss is
the right one is test_methods_exact.py's job.)"""
from __future__ import annotations

import copy

import pytest
import torch

from methods.base import LossConfig
from methods.registry import METHODS, get_method

from methods_helpers import batch_for, examples_for, one_sgd_step

LR = 0.5


@pytest.mark.parametrize("name", list(METHODS))
def test_a_trainer_step_follows_the_method_gradient(name, tokenizer, tiny_model, tiny_teacher, tmp_path):
    method, cfg, pad = get_method(name), LossConfig(beta=0.1), tokenizer.pad_token_id
    examples = examples_for(name, tokenizer, tiny_model, tiny_teacher, n=4)
    probe = copy.deepcopy(tiny_model).train()
    loss, metrics = method.compute_loss(probe, batch_for(method, probe, examples, pad), cfg)
    loss.backward()
    grad_norm = float(torch.sqrt(sum((p.grad ** 2).sum() for p in probe.parameters())))
    assert grad_norm > 1e-6
    # A divergence to the tiny random teacher's top-8 (GKD, DistiLLM-2) has a small gradient: 49k near-uniform
    # tokens put almost all mass in the rest bin on both sides. Its step is scaled up so it stays well above
    # float32 rounding of the weights.
    lr = LR if LR * grad_norm > 1e-3 else 1.0 / grad_norm
    expected = {n: -lr * p.grad for n, p in probe.named_parameters()}
    delta, logged = one_sgd_step(method, tiny_model, examples, pad, 4, 1, tmp_path, lr=lr, cfg=cfg)
    norm = float(torch.sqrt(sum((d ** 2).sum() for d in expected.values())))
    assert norm > 1e-3
    for n, d in delta.items():
        torch.testing.assert_close(d, expected[n], rtol=1e-3, atol=1e-5 * norm, msg=lambda m: f"{n}: {m}")
    assert logged["loss"] == pytest.approx(loss.item(), rel=1e-4)
    assert set(metrics) <= set(logged)  # every loss term is logged
    for key, value in metrics.items():
        assert logged[key] == pytest.approx(float(value), rel=1e-4, abs=1e-6), key


def test_train_prints_nothing_and_keeps_the_log(tokenizer, tiny_model, tmp_path, capsys):
    # disable_tqdm makes the Trainer print each log dict to stdout; bench shows its own progress, so train() removes
    # that printer, and the dicts stay in the log history
    from methods.trainer import train, training_arguments

    method = get_method("sft")
    args = training_arguments(str(tmp_path), learning_rate=1e-3, batch_size=2, max_steps=2, warmup_ratio=0.0,
                              use_cpu=tiny_model.device.type == "cpu")
    trainer = train(method, tiny_model, examples_for("sft", tokenizer, tiny_model, None, n=4), tokenizer.pad_token_id,
                    LossConfig(), args)
    assert capsys.readouterr().out == ""
    assert [h["step"] for h in trainer.state.log_history if "loss" in h] == [1, 2]
