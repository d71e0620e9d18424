"""METHODS: name -> Method. Adding a method is one module plus one line here."""
from __future__ import annotations

from .adpa import ADPA, ADPAPlus
from .base import Method
from .dckd import DCKD
from .dpo import DPO
from .sft import SFT

METHODS: dict[str, Method] = {m.name: m() for m in (SFT, DPO, DCKD, ADPA, ADPAPlus)}


def get_method(name: str) -> Method:
    try:
        return METHODS[name]
    except KeyError:
        raise ValueError(f"unknown method {name!r}; choose one of: {' '.join(METHODS)}") from None
