"""What every stage runner receives: the recipe, the plan, the cache, the run's data (tokenised lazily, once per
tokenizer) and where progress goes."""
from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from pathlib import Path

import torch

from bench.models import load_tokenizer
from bench.progress import Reporter
from bench.recipe import Recipe

from .cache import StageCache
from .data import RunData, tokenised_pairs, tokenised_sft
from .plan import Stage


# cuBLAS is deterministic only with a fixed workspace (CUDA >= 10.2); without it torch's deterministic mode raises (or,
# with warn_only, warns) at the first CUDA matmul. PyTorch reads it once, when the first cuBLAS handle is made, so it
# is also set when bench.cli starts, before any model runs.
CUBLAS_WORKSPACE = ":4096:8"


def deterministic_cuda_env() -> None:
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)


def set_determinism(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)
    deterministic_cuda_env()
    # warn_only: a few CPU kernels have no deterministic variant; on CPU the ones used here are deterministic.
    torch.use_deterministic_algorithms(True, warn_only=True)


@dataclass
class RunContext:
    recipe: Recipe
    student: str
    teacher: str
    seed: int
    plan: dict[str, Stage]
    cache: StageCache | None
    data: RunData
    reporter: Reporter
    data_dir: Path | None = None
    _tokenizers: dict = field(default_factory=dict)
    _examples: dict = field(default_factory=dict)

    def stage_dir(self, name: str) -> Path:
        return self.cache.final_dir(name, self.plan[name].key)

    def model_dir(self, name: str) -> Path:
        return self.stage_dir(name) / "model"

    def tokenizer(self, role: str):
        spec = self.teacher if role == "teacher" else self.student
        if spec not in self._tokenizers:
            self._tokenizers[spec] = load_tokenizer(spec)
        return self._tokenizers[spec]

    def examples(self, role: str, kind: str) -> list[dict]:
        """Tokenised data: kind "sft", "pref_train", "pref_teacher" or "pref_test", with ``role``'s tokenizer and
        chat template."""
        if (role, kind) not in self._examples:
            d = self.recipe.data
            what = f"{d.sft_source if kind == 'sft' else d.source}:{kind}"
            fn = tokenised_sft if kind == "sft" else tokenised_pairs
            self._examples[(role, kind)] = fn(self.tokenizer(role), getattr(self.data, kind), self.recipe, what)
        return self._examples[(role, kind)]
