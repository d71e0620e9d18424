"""Batches go to the device of the model that reads them: one helper, used by every path that builds a batch."""
from __future__ import annotations

import torch


def model_device(model) -> torch.device:
    """The device of a model is its first parameter's (a model without parameters runs on the CPU)."""
    for param in model.parameters():
        return param.device
    return torch.device("cpu")


def to_device(value, device: torch.device):
    """Every tensor inside dicts, lists and tuples moved to ``device``; anything else is returned as it is."""
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, dict):
        return {key: to_device(item, device) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_device(item, device) for item in value)
    return value


def to_model_device(batch, model):
    """``batch`` (a tensor, or a dict / list / tuple holding tensors) on ``model``'s device."""
    return to_device(batch, model_device(model))
