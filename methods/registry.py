"""METHODS: name -> Method. Adding a method is one module plus one line here."""
from __future__ import annotations

from .adpa import ADPA, ADPAPlus
from .base import Method
from .dckd import DCKD
from .distillm2 import DistiLLM2
from .dpo import DPO
from .gkd import GKD
from .sft import SFT
from .simpo import SimPO

METHODS: dict[str, Method] = {m.name: m() for m in (SFT, DPO, DCKD, ADPA, ADPAPlus, DistiLLM2, GKD, SimPO)}
# The ADPA paper's Table-2 rows (`--method all`); the others are extra rows a recipe switches on (extra_methods).
PAPER_METHODS: tuple[str, ...] = tuple(name for name, m in METHODS.items() if m.paper)


def get_method(name: str) -> Method:
    try:
        return METHODS[name]
    except KeyError:
        raise ValueError(f"unknown method {name!r}; choose one of: {' '.join(METHODS)}") from None
