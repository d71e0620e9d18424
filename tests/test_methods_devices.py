"""Every batch goes to its model's device. Rehearsed on CPU with a model whose parameters live on the "meta"
device: each path must hand the model inputs on that device (the model then stops the run)."""
from __future__ import annotations

import pytest
import torch

from methods.devices import model_device, to_model_device
from methods.generate import generate_ids
from methods.topk import precompute_advantages, precompute_sequence_logps, precompute_teacher_topk


class Reached(Exception):
    pass


class MetaModel(torch.nn.Module):
    """Parameters on "meta"; forward / generate record where their tensor inputs are, then stop."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(2, device="meta"))
        self.seen: list[str] = []

    def _check(self, kwargs):
        self.seen += [v.device.type for v in kwargs.values() if isinstance(v, torch.Tensor)]
        raise Reached

    def forward(self, input_ids, attention_mask=None, logits_to_keep=None):
        self._check({"input_ids": input_ids, "attention_mask": attention_mask, "logits_to_keep": logits_to_keep})

    def generate(self, **kwargs):
        self._check(kwargs)


def test_to_model_device_moves_every_tensor_in_nested_batches():
    model = MetaModel()
    assert model_device(model) == torch.device("meta") and model_device(torch.nn.Module()) == torch.device("cpu")
    batch = {"a": torch.zeros(2), "b": [torch.ones(1), (torch.ones(3), 7)], "c": "text"}
    moved = to_model_device(batch, model)
    assert moved["a"].device.type == "meta" and moved["b"][0].device.type == "meta" and moved["b"][1][0].device.type == "meta"
    assert moved["b"][1][1] == 7 and moved["c"] == "text" and isinstance(moved["b"][1], tuple)
    assert batch["a"].device.type == "cpu"  # the input is left as it was


EXAMPLES = [{"prompt_ids": [1, 2, 3], "response_ids": [4, 5]}]


@pytest.mark.parametrize("path", [
    lambda m: precompute_sequence_logps(m, EXAMPLES, 0),
    lambda m: precompute_teacher_topk(m, EXAMPLES, 0, k=1),
    lambda m: precompute_advantages(m, m, EXAMPLES, 0, k=1),
    lambda m: generate_ids(m, [[1, 2, 3]], pad_id=0, eos_id=2, max_new_tokens=2),
], ids=["sequence_logps", "teacher_topk", "advantages", "generate"])
def test_every_batch_reaches_the_model_on_its_device(path):
    model = MetaModel()
    with pytest.raises(Reached):
        path(model)
    assert model.seen and set(model.seen) == {"meta"}
