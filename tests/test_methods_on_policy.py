"""GKD with ``resample_every``: the samples a redrawn micro-batch trains on come from the student's weights at that
moment, the live teacher's top-K on them is what the loss reads, the other micro-batches keep the cached samples,
and a run repeats exactly.

Through the code training runs (methods.trainer.train, a tiny float64 GPT-2 student and teacher on the tests' device,
the GPU under ``make gpu-check``): each loss the Trainer computed is recorded with the weights it was computed at,
then rebuilt independently from those weights (generation with the micro-batch's own seed, the teacher's top-K, the
collator, compute_loss) and compared.
"""
from __future__ import annotations

import copy

import pytest
import torch

from methods.base import LossConfig
from methods.devices import to_model_device
from methods.examples import attach_teacher_topk, response_view
from methods.generate import hf_generate_ids
from methods.on_policy import OnPolicySamples
from methods.registry import get_method
from methods.sampling import item_seed
from methods.topk import precompute_teacher_topk
from methods.trainer import train, training_arguments

from test_methods_beyond import distill_examples
from test_methods_exact import PAD, f64_model

EOS, MAX_NEW, MAX_LENGTH, K, SEED = 1, 6, 40, 5, 7
SETTINGS = {"temperature": 0.9, "top_p": 1.0}


def _sampler(teacher, every):
    return OnPolicySamples(teacher, PAD, EOS, MAX_NEW, MAX_LENGTH, SETTINGS["temperature"], SETTINGS["top_p"], K, SEED,
                           every)


def _run(tmp_path, device, every, steps=3, lr=0.05):
    """Train ``steps`` optimiser steps of 4 pairs; every loss computed, with the batch and the weights it saw."""
    method = get_method("gkd")
    cfg = LossConfig(settings={**SETTINGS, "resample_every": every})
    student, teacher = f64_model(0).to(device), f64_model(1).to(device).eval()
    examples = distill_examples(full=False)
    calls = []
    compute = method.compute_loss

    def recording(model, batch, loss_cfg):
        weights = copy.deepcopy(model.state_dict())
        loss, metrics = compute(model, batch, loss_cfg)
        calls.append({"batch": {k: v.detach().clone() for k, v in batch.items() if torch.is_tensor(v)},
                      "weights": weights, "loss": loss.item()})
        return loss, metrics

    sampler = _sampler(teacher, every)
    args = training_arguments(str(tmp_path), learning_rate=lr, batch_size=4, max_steps=steps, warmup_ratio=0.0,
                              scheduler="constant", use_cpu=device.type == "cpu", seed=SEED)
    method.compute_loss = recording
    try:
        train(method, student, examples, PAD, cfg, args, on_policy=sampler)
    finally:
        del method.compute_loss  # the instance attribute; the class's compute_loss again
    return method, cfg, teacher, examples, calls, sampler, student


def _rows(batch, examples):
    """The examples behind a pair batch's rows, found by their prompt + chosen tokens (the batch's first half)."""
    n = batch["input_ids"].shape[0] // 2
    out = []
    for row in range(n):
        tokens = batch["input_ids"][row][batch["attention_mask"][row].bool()].tolist()
        out.append(next(e for e in examples if e["prompt_ids"] + e["chosen_ids"] == tokens))
    return out


def _sample_half(batch):
    n = batch["input_ids"].shape[0] // 2
    labels = batch["labels"][n:]
    return [row[row != -100].tolist() for row in labels]


def _student_at(weights, device):
    student = f64_model(0).to(device)
    student.load_state_dict(weights)
    return student


def _rebuilt(method, cfg, teacher, weights, rows, micro_batch):
    """The micro-batch's loss rebuilt from the weights it ran at: fresh samples, the teacher's top-K, the collator."""
    student = _student_at(weights, teacher.device)
    prompts = [e["prompt_ids"] for e in rows]
    samples = hf_generate_ids(student, prompts, PAD, EOS, MAX_NEW, batch_size=len(prompts), temperature=SETTINGS["temperature"],
                              top_p=SETTINGS["top_p"], seed=item_seed(SEED, micro_batch))
    samples = [s[: max(1, MAX_LENGTH - len(p))] for s, p in zip(samples, prompts)]
    fresh = [{**{k: v for k, v in e.items() if k != "sample_teacher_topk"}, "sample_ids": s} for e, s in zip(rows, samples)]
    fresh = attach_teacher_topk(fresh, precompute_teacher_topk(teacher, response_view(fresh, "sample"), PAD, K), "sample")
    student.train()
    loss, _ = method.compute_loss(student, to_model_device(method.collator(PAD)(fresh), student), cfg)
    return samples, loss.item()


def test_redrawn_micro_batches_train_on_the_current_students_samples(tmp_path, device):
    method, cfg, teacher, examples, calls, sampler, _ = _run(tmp_path, device, every=2)
    assert len(calls) == 3 and sampler.summary() == {"micro_batches": 3, "redrawn": 2, "processes": 1, "samples": 8,
                                                     "mean_sample_tokens": sampler.summary()["mean_sample_tokens"]}
    for m, call in enumerate(calls):
        rows = _rows(call["batch"], examples)
        used = _sample_half(call["batch"])
        if m % 2:  # a cached micro-batch: the samples drawn before training, and their stored top-K
            assert used == [e["sample_ids"] for e in rows]
            student = _student_at(call["weights"], device).train()
            expected = method.compute_loss(student, to_model_device(method.collator(PAD)(rows), student), cfg)[0].item()
            assert call["loss"] == pytest.approx(expected, rel=1e-10)
            continue
        samples, expected = _rebuilt(method, cfg, teacher, call["weights"], rows, m)
        assert used == samples
        assert call["loss"] == pytest.approx(expected, rel=1e-10)
        assert used != [e["sample_ids"] for e in rows]  # not the cached samples
    # micro-batch 2 ran after two optimiser steps: the initial weights, with the same seed, give other samples
    rows = _rows(calls[2]["batch"], examples)
    initial, _ = _rebuilt(method, cfg, teacher, calls[0]["weights"], rows, 2)
    assert _sample_half(calls[2]["batch"]) != initial


def test_a_run_with_redrawn_samples_repeats_exactly(tmp_path, device):
    *_, first_calls, _, first = _run(tmp_path / "a", device, every=1, steps=2)
    *_, second_calls, _, second = _run(tmp_path / "b", device, every=1, steps=2)
    assert [_sample_half(c["batch"]) for c in first_calls] == [_sample_half(c["batch"]) for c in second_calls]
    for (name, a), b in zip(first.state_dict().items(), second.state_dict().values()):
        assert torch.equal(a, b), name


def test_resample_every_is_checked():
    with pytest.raises(ValueError, match="resample_every"):
        get_method("gkd").settings({"resample_every": -1})
    with pytest.raises(ValueError, match="resample_every"):
        _sampler(None, 0)
    assert get_method("gkd").resample_every(LossConfig()) == 0  # the default: samples drawn once
    assert get_method("distillm2").resample_every(LossConfig()) == 0 and get_method("dpo").resample_every(LossConfig()) == 0
