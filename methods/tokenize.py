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


class TokenizerMismatch(ValueError):
    """A teacher and a student tokenizer differ where top-K distillation needs them to be the same."""


@dataclass(frozen=True)
class TokenizerPair:
    """What ``check_tokenizer_pair`` found for a pair that may be distilled."""

    vocab_size: int
    same_chat_template: bool
    warnings: tuple[str, ...]


# Ids that must match: the student's responses end with its EOS, its prompts may start with its BOS, and the
# teacher scores those very ids. Pad ids only fill masked positions (attention 0, label -100), and every stage
# that feeds the student pads with the student's pad id, so a pad difference is reported, not refused.
MATCHING_IDS = ("eos_token_id", "bos_token_id")
REPORTED_IDS = ("pad_token_id",)


def _first_vocab_difference(t_vocab: dict, s_vocab: dict, teacher: str, student: str) -> str | None:
    """The first token, in teacher-id order, whose id differs; then the first token only the student has."""
    for token, t_id in sorted(t_vocab.items(), key=lambda item: (item[1], item[0])):
        s_id = s_vocab.get(token)
        if s_id != t_id:
            return f"token {token!r}: id {t_id} in teacher {teacher}, " + (
                f"absent from student {student}" if s_id is None else f"id {s_id} in student {student}")
    extra = sorted((s_id, token) for token, s_id in s_vocab.items() if token not in t_vocab)
    if extra:
        return f"token {extra[0][1]!r}: absent from teacher {teacher}, id {extra[0][0]} in student {student}"
    return None


def check_tokenizer_pair(teacher_tok, student_tok, teacher_name: str = "teacher", student_name: str = "student") -> TokenizerPair:
    """Refuse a teacher/student pair whose tokenizers differ in vocabulary (token -> id), EOS or BOS id.

    Top-K distillation and advantages index the student's logits with the teacher's token ids, and the
    teacher scores the student's response tokens, so both must mean the same thing. The error names both
    models and the first difference.

    Chat templates may differ. The rule: every stage that feeds the student tokenises with the STUDENT's
    template (the student's SFT / DPO / DCKD / ADPA training, its samples, its evaluation, and the teacher's
    top-K and advantage precomputes, which must see exactly the student's token ids), while the teacher's own
    SFT and DPO use the TEACHER's template. A template difference then only means the teacher scores prompts
    rendered in a template it was not trained with: a warning, returned (and a pad-id difference likewise).
    """
    diff = _first_vocab_difference(teacher_tok.get_vocab(), student_tok.get_vocab(), teacher_name, student_name)
    for attr in MATCHING_IDS:
        if diff is None and getattr(teacher_tok, attr, None) != getattr(student_tok, attr, None):
            diff = f"{attr}: {getattr(teacher_tok, attr, None)} in teacher {teacher_name}, {getattr(student_tok, attr, None)} in student {student_name}"
    if diff is not None:
        raise TokenizerMismatch(
            f"teacher {teacher_name} and student {student_name} do not share a tokenizer ({diff}): top-K distillation "
            "and advantages need one tokenizer. Pick a student from the teacher's family.")
    warnings = []
    for attr in REPORTED_IDS:
        t_id, s_id = getattr(teacher_tok, attr, None), getattr(student_tok, attr, None)
        if t_id != s_id:
            warnings.append(f"{attr}: {t_id} in teacher {teacher_name}, {s_id} in student {student_name} "
                            "(harmless: padding is masked, and the student's pad id is used on the student's data)")
    same_template = getattr(teacher_tok, "chat_template", None) == getattr(student_tok, "chat_template", None)
    if not same_template:
        warnings.append(f"chat templates differ between teacher {teacher_name} and student {student_name}: the teacher's "
                        "precomputes score prompts rendered with the student's template (its own SFT/DPO use its own)")
    return TokenizerPair(len(student_tok.get_vocab()), same_template, tuple(warnings))
