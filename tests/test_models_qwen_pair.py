"""The offline pretrained pair: Qwen2.5-Coder-1.5B-Instruct (teacher) and -0.5B-Instruct (student), dequantised from
the hash-verified Q4_K_M GGUFs the judges assemble (bench.models.gguf_parts). Skipped where those files are not
assembled (`make judges`); `make test` never downloads them."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def _assembled(alias: str) -> bool:
    from bench.models import GGUF_PARTS, cache_dir
    from bench.models.folders import _gguf_spec

    try:
        from bench.models.gguf_parts import is_assembled
    except ImportError:
        return False
    folder = cache_dir() / "models" / alias
    return alias in GGUF_PARTS and ((folder / "config.json").is_file() or is_assembled(_gguf_spec(alias)))


@pytest.mark.skipif(not (_assembled("qwen2.5-coder-0.5b") and _assembled("qwen2.5-coder-1.5b")),
                    reason="the Qwen2.5-Coder GGUFs are not assembled here (make judges)")
def test_qwen_pair_loads_shares_a_tokenizer_and_answers():
    import torch

    from bench.models import availability, load_model, load_tokenizer
    from methods.generate import generate_text
    from methods.tokenize import check_tokenizer_pair

    student, teacher = "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"
    assert availability(student) is None and availability(teacher) is None
    tok_s, tok_t = load_tokenizer(student), load_tokenizer(teacher)
    check_tokenizer_pair(tok_t, tok_s, teacher, student)  # raises, naming the first difference, if they differ
    model = load_model(student, "trainable", device="cpu")
    assert model.config.model_type == "qwen2" and next(model.parameters()).dtype == torch.float32
    assert (model.config.hidden_size, model.config.num_hidden_layers) == (896, 24)  # Qwen2.5-0.5B's shape
    (answer,) = generate_text(model, tok_s, [[{"role": "user", "content": "Write a Python function that adds two numbers."}]],
                              max_new_tokens=24)
    assert "def " in answer  # dequantised weights that still write code, not noise
