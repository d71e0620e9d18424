"""Records -> token ids with the model's chat template.

A prompt is rendered by the chat template with the generation prompt (e.g. ChatML's
``<|im_start|>assistant\\n``). A response is the assistant text tokenised without special tokens,
followed by the tokenizer's EOS (the end-of-turn token for chat models). Keeping the response
tokens independent of the prompt makes teacher and student see identical response tokens, which
the top-K distillation terms need, and lets a generated sample be used as a response unchanged.

Truncation: a prompt longer than ``max_prompt_length`` is an error (it names the record); a
response is cut to ``max_length - len(prompt)`` tokens, keeping its beginning (a cut response
loses its EOS).
"""
from __future__ import annotations

from dataclasses import dataclass

from .records import RecordError, split_sft

# Used only when a tokenizer has no chat template of its own (base models such as Danube).
FALLBACK_CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}{{ eos_token }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)


@dataclass(frozen=True)
class Lengths:
    max_length: int = 1024
    max_prompt_length: int = 512

    def __post_init__(self):
        if not 0 < self.max_prompt_length < self.max_length:
            raise ValueError(f"need 0 < max_prompt_length ({self.max_prompt_length}) < max_length ({self.max_length})")


def ensure_chat_template(tokenizer) -> None:
    if not getattr(tokenizer, "chat_template", None):
        tokenizer.chat_template = FALLBACK_CHAT_TEMPLATE
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token


def encode_prompt(tokenizer, messages: list[dict]) -> list[int]:
    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
    if isinstance(ids, dict) or hasattr(ids, "keys"):  # transformers 5 may return a BatchEncoding
        ids = ids["input_ids"]
    return list(ids)


def encode_response(tokenizer, text: str) -> list[int]:
    return tokenizer.encode(text, add_special_tokens=False) + [tokenizer.eos_token_id]


def _prompt_ids(tokenizer, prompt, lengths: Lengths, source: str, index) -> list[int]:
    ids = encode_prompt(tokenizer, prompt)
    if len(ids) > lengths.max_prompt_length:
        raise RecordError(source, index, "prompt", f"{len(ids)} tokens, longer than max_prompt_length={lengths.max_prompt_length}")
    return ids


def tokenize_preference(tokenizer, record: dict, lengths: Lengths, source: str = "<records>", index=0) -> dict:
    prompt_ids = _prompt_ids(tokenizer, record["prompt"], lengths, source, index)
    budget = lengths.max_length - len(prompt_ids)
    return {
        "prompt_ids": prompt_ids,
        "chosen_ids": encode_response(tokenizer, record["chosen"][0]["content"])[:budget],
        "rejected_ids": encode_response(tokenizer, record["rejected"][0]["content"])[:budget],
    }


def tokenize_sft(tokenizer, record: dict, lengths: Lengths, source: str = "<records>", index=0) -> dict:
    prompt, response = split_sft(record)
    prompt_ids = _prompt_ids(tokenizer, prompt, lengths, source, index)
    budget = lengths.max_length - len(prompt_ids)
    return {"prompt_ids": prompt_ids, "response_ids": encode_response(tokenizer, response[0]["content"])[:budget]}


def check_same_vocabulary(teacher_tokenizer, student_tokenizer, teacher_name="teacher", student_name="student") -> None:
    """Top-K distillation indexes the student's logits with the teacher's token ids."""
    t_vocab, s_vocab = teacher_tokenizer.get_vocab(), student_tokenizer.get_vocab()
    if t_vocab != s_vocab:
        only_t = len(set(t_vocab) - set(s_vocab))
        only_s = len(set(s_vocab) - set(t_vocab))
        raise ValueError(
            f"{teacher_name} and {student_name} have different vocabularies ({len(t_vocab)} vs {len(s_vocab)} tokens; "
            f"{only_t} only in the teacher, {only_s} only in the student, ids may also differ): top-K distillation and "
            "advantages need a shared tokenizer. Pick a student from the teacher's family."
        )
