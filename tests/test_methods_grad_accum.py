"""One micro-batch of 4 == four micro-batches of 1 with gradient accumulation, through MethodTrainer."""
from __future__ import annotations

import copy

import pytest
import torch

from methods.registry import get_method

from methods_helpers import examples_for, one_sgd_step


@pytest.mark.parametrize("name", ["sft", "dpo", "dckd", "adpa"])
def test_one_batch_of_4_equals_4_accumulated_batches_of_1(name, tokenizer, tiny_model, tiny_teacher, tmp_path):
    method = get_method(name)
    examples = examples_for(name, tokenizer, tiny_model, tiny_teacher, n=4)
    key = "response_ids" if name == "sft" else "chosen_ids"
    assert len({len(e[key]) for e in examples}) >= 3  # unequal lengths: a batch-wide token mean would differ
    other = copy.deepcopy(tiny_model)
    whole, log_whole = one_sgd_step(method, tiny_model, examples, tokenizer.pad_token_id, 4, 1, tmp_path / "a")
    accum, log_accum = one_sgd_step(method, other, examples, tokenizer.pad_token_id, 1, 4, tmp_path / "b")
    assert log_whole["loss"] == pytest.approx(log_accum["loss"], rel=1e-4)
    norm = torch.sqrt(sum((d ** 2).sum() for d in whole.values()))
    assert norm > 1e-3  # the step did something
    for n in whole:
        torch.testing.assert_close(accum[n], whole[n], rtol=1e-3, atol=1e-6 * float(norm), msg=lambda m: f"{n}: {m}")
