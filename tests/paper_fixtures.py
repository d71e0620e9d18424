"""Tiny stand-ins for the paper's models and data, built by the tests (nothing from the hub).

Models (random weights, the SmolLM2 tokenizer that bench.models already materialises offline):
- ``mistral-student`` / ``mistral-teacher``: ``MistralForCausalLM`` as H2O-Danube / Mistral-7B: base models, so the
  tokenizer has no chat template (the project's fallback template is used) and no pad token; untied LM head.
- ``llama-student`` / ``llama-teacher``: ``LlamaForCausalLM`` as Llama-3.2-1B (tied embeddings) / Llama-3.1-8B
  (untied), with a Llama-3-style chat template and BOS: ``<|begin_of_text|>`` added by the tokenizer itself
  (a post-processor, as Llama 3's tokenizer does) and written by the chat template, EOS ``<|eot_id|>``, no pad.
- ``reward``: a FsfairX-LLaMA3-RM-shaped ``LlamaForSequenceClassification`` (num_labels=1) with the Llama-3 template.

Data, in the exact row formats of the hub data sets (all their columns):
- ``dpo_mix_7k/{train,test}.jsonl``: argilla/dpo-mix-7k: dataset, chosen, rejected (whole conversations),
  chosen_rating, rejected_rating.
- ``deita_10k/{train_sft,test_sft}.jsonl``: HuggingFaceH4/deita-10k-v0-sft: prompt, prompt_id, messages.
- ``mt_bench`` and ``alpaca_eval`` link to the shared data folder (their questions and reference answers).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

LLAMA3_TEMPLATE = (
    "{{- bos_token }}{%- for message in messages %}"
    "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'] | trim + '<|eot_id|>' }}"
    "{%- endfor %}{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{%- endif %}"
)
TINY = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
            max_position_embeddings=1024)


def base_tokenizer():
    """Mistral-like base tokenizer: no chat template, no pad token."""
    from transformers import AutoTokenizer

    from bench.models import materialise_tokenizer

    tokenizer = AutoTokenizer.from_pretrained(materialise_tokenizer())
    tokenizer.chat_template = None
    tokenizer.pad_token = None
    return tokenizer


def llama3_tokenizer():
    """Llama-3-style: <|begin_of_text|> added by the tokenizer and by the chat template, EOS <|eot_id|>, no pad."""
    from tokenizers import processors

    tokenizer = base_tokenizer()
    tokenizer.add_special_tokens({"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>",
                                  "additional_special_tokens": ["<|start_header_id|>", "<|end_header_id|>"]})
    bos = tokenizer.convert_tokens_to_ids("<|begin_of_text|>")
    tokenizer.backend_tokenizer.post_processor = processors.TemplateProcessing(
        single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|> $B",
        special_tokens=[("<|begin_of_text|>", bos)])
    tokenizer.chat_template = LLAMA3_TEMPLATE
    return tokenizer


def _save(model, tokenizer, folder: Path) -> Path:
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder


def _special(tokenizer) -> dict:
    return dict(vocab_size=len(tokenizer), bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                pad_token_id=None)


def build_models(root: Path) -> dict[str, Path]:
    """Folder per model name (see the module docstring), under ``root``."""
    import torch
    from transformers import (LlamaConfig, LlamaForCausalLM, LlamaForSequenceClassification, MistralConfig,
                              MistralForCausalLM)

    base, llama = base_tokenizer(), llama3_tokenizer()
    out = {}
    for seed, (name, cls, config) in enumerate([
        ("mistral-student", MistralForCausalLM, MistralConfig(**TINY, **_special(base), tie_word_embeddings=False)),
        ("mistral-teacher", MistralForCausalLM, MistralConfig(**{**TINY, "hidden_size": 96}, **_special(base),
                                                              tie_word_embeddings=False)),
        ("llama-student", LlamaForCausalLM, LlamaConfig(**TINY, **_special(llama), tie_word_embeddings=True)),
        ("llama-teacher", LlamaForCausalLM, LlamaConfig(**{**TINY, "hidden_size": 96}, **_special(llama),
                                                        tie_word_embeddings=False)),
        ("reward", LlamaForSequenceClassification, LlamaConfig(**TINY, **_special(llama), num_labels=1)),
    ]):
        torch.manual_seed(seed)
        out[name] = _save(cls(config), llama if name.startswith(("llama", "reward")) else base, root / name)
    return out


def _turns(*texts: str) -> list[dict]:
    return [{"role": "user" if i % 2 == 0 else "assistant", "content": t} for i, t in enumerate(texts)]


TOPICS = ["tides", "bread", "volcanoes", "chess", "bees", "rainbows", "glaciers", "comets", "coffee", "bridges"]


def dpo_mix_rows(n: int, offset: int = 0) -> list[dict]:
    """argilla/dpo-mix-7k rows: dataset, chosen, rejected (system turn in some, two turns in some), ratings."""
    rows = []
    for i in range(offset, offset + n):
        topic = TOPICS[i % len(TOPICS)]
        prompt = [f"Explain {topic} in two sentences."]
        if i % 3 == 2:  # a multi-turn conversation: the last assistant turn is the answer
            prompt = [f"What are {topic}?", f"{topic.capitalize()} are a familiar thing.", "Tell me one more fact."]
        chosen = _turns(*prompt, f"{topic.capitalize()} follow clear rules. Each one is worth a closer look.")
        rejected = _turns(*prompt, f"idk {topic}")
        if i % 4 == 1:
            system = {"role": "system", "content": "You are a helpful assistant."}
            chosen, rejected = [system, *chosen], [system, *rejected]
        rows.append({"dataset": ["argilla/distilabel-capybara-dpo-7k-binarized", "argilla/distilabel-intel-orca-dpo-pairs",
                                 "argilla/ultrafeedback-binarized-preferences-cleaned"][i % 3],
                     "chosen": chosen, "rejected": rejected, "chosen_rating": 5.0 - (i % 2) * 0.5,
                     "rejected_rating": 2.0 + (i % 3) * 0.5})
    return rows


def deita_rows(n: int, offset: int = 0) -> list[dict]:
    """HuggingFaceH4/deita-10k-v0-sft rows: prompt, prompt_id (sha256 of the prompt), messages."""
    rows = []
    for i in range(offset, offset + n):
        topic = TOPICS[i % len(TOPICS)]
        prompt = f"Write a short note about {topic}."
        messages = _turns(prompt, f"A note about {topic}: they are interesting and worth learning about.")
        if i % 2:
            messages += _turns("Make it shorter.", f"{topic.capitalize()}: worth learning about.")
        rows.append({"prompt": prompt, "prompt_id": hashlib.sha256(prompt.encode()).hexdigest(), "messages": messages})
    return rows


def _jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def build_data_dir(root: Path, shared: Path, pairs: int = 8, conversations: int = 8) -> Path:
    _jsonl(root / "dpo_mix_7k" / "train.jsonl", dpo_mix_rows(pairs))
    _jsonl(root / "dpo_mix_7k" / "test.jsonl", dpo_mix_rows(4, offset=pairs))
    _jsonl(root / "deita_10k" / "train_sft.jsonl", deita_rows(conversations))
    _jsonl(root / "deita_10k" / "test_sft.jsonl", deita_rows(2, offset=conversations))
    for name in ("mt_bench", "alpaca_eval"):
        (root / name).symlink_to(shared / name, target_is_directory=True)
    return root
