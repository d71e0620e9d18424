"""The two record shapes every data source is converted into, their validation and converters.

Preference record: ``{"prompt": [messages], "chosen": [messages], "rejected": [messages]}`` where
``prompt`` ends with a user turn and ``chosen`` / ``rejected`` each hold one assistant message.
SFT record: ``{"messages": [...]}`` ending with the assistant turn that is trained on.
A message is ``{"role": "system" | "user" | "assistant", "content": non-empty str}``.
"""
from __future__ import annotations

import re
from typing import Any, Iterable

from .errors import MethodInputError

ROLES = ("system", "user", "assistant")


class RecordError(MethodInputError):
    """A record is malformed; the message names the source, the record and the field."""

    def __init__(self, source: str, index: int | str, field: str, problem: str):
        self.source, self.index, self.field = source, index, field
        super().__init__(f"{source}: record {index}: field '{field}': {problem}")


def _check_messages(messages: Any, source: str, index: int | str, field: str) -> None:
    if not isinstance(messages, list) or not messages:
        raise RecordError(source, index, field, "expected a non-empty list of messages")
    for i, message in enumerate(messages):
        where = f"{field}[{i}]"
        if not isinstance(message, dict):
            raise RecordError(source, index, where, f"expected a message object, got {type(message).__name__}")
        for key in ("role", "content"):
            if key not in message:
                raise RecordError(source, index, f"{where}.{key}", "missing")
        if message["role"] not in ROLES:
            raise RecordError(source, index, f"{where}.role", f"unknown role {message['role']!r}; expected one of {ROLES}")
        content = message["content"]
        if not isinstance(content, str):
            raise RecordError(source, index, f"{where}.content", f"expected a string, got {type(content).__name__}")
        if not content.strip():
            raise RecordError(source, index, f"{where}.content", "empty")


def _check_prompt(prompt: Any, source: str, index: int | str, field: str = "prompt") -> None:
    _check_messages(prompt, source, index, field)
    if prompt[-1]["role"] != "user":
        raise RecordError(source, index, f"{field}[{len(prompt) - 1}].role", "the prompt must end with a user turn")
    for i, message in enumerate(prompt):
        if message["role"] == "system" and i != 0:
            raise RecordError(source, index, f"{field}[{i}].role", "a system message may only come first")


def _check_response(response: Any, source: str, index: int | str, field: str) -> None:
    _check_messages(response, source, index, field)
    if len(response) != 1:
        raise RecordError(source, index, field, f"expected exactly one assistant message, got {len(response)}")
    if response[0]["role"] != "assistant":
        raise RecordError(source, index, f"{field}[0].role", f"expected 'assistant', got {response[0]['role']!r}")


def validate_preference(record: Any, source: str = "<records>", index: int | str = 0) -> dict:
    if not isinstance(record, dict):
        raise RecordError(source, index, "<record>", f"expected an object, got {type(record).__name__}")
    for key in ("prompt", "chosen", "rejected"):
        if key not in record:
            raise RecordError(source, index, key, "missing")
    _check_prompt(record["prompt"], source, index)
    _check_response(record["chosen"], source, index, "chosen")
    _check_response(record["rejected"], source, index, "rejected")
    return record


def validate_sft(record: Any, source: str = "<records>", index: int | str = 0) -> dict:
    if not isinstance(record, dict):
        raise RecordError(source, index, "<record>", f"expected an object, got {type(record).__name__}")
    if "messages" not in record:
        raise RecordError(source, index, "messages", "missing")
    messages = record["messages"]
    _check_messages(messages, source, index, "messages")
    if messages[-1]["role"] != "assistant":
        raise RecordError(source, index, f"messages[{len(messages) - 1}].role", "an SFT conversation must end with an assistant turn")
    if len(messages) < 2:
        raise RecordError(source, index, "messages", "needs at least one user turn before the assistant turn")
    _check_prompt(messages[:-1], source, index, "messages")
    return record


def validate_all(records: Iterable[Any], kind: str, source: str) -> list[dict]:
    check = {"preference": validate_preference, "sft": validate_sft}[kind]
    return [check(record, source, i) for i, record in enumerate(records)]


def sft_from_preference(record: dict) -> dict:
    """The SFT view of a preference pair: its prompt followed by the chosen answer."""
    return {"messages": record["prompt"] + record["chosen"]}


def split_sft(record: dict) -> tuple[list[dict], list[dict]]:
    """(prompt messages, [final assistant message]) of an SFT record: the loss covers the final turn."""
    return record["messages"][:-1], record["messages"][-1:]


def from_full_conversations(chosen: list[dict], rejected: list[dict], source: str = "<records>", index: int | str = 0) -> dict:
    """dpo-mix-7k / UltraFeedback style: two whole conversations that differ only in the last turn."""
    _check_messages(chosen, source, index, "chosen")
    _check_messages(rejected, source, index, "rejected")
    if chosen[:-1] != rejected[:-1]:
        raise RecordError(source, index, "rejected", "the conversations differ before their last turn")
    return validate_preference({"prompt": chosen[:-1], "chosen": chosen[-1:], "rejected": rejected[-1:]}, source, index)


_HH_TURN = re.compile(r"\n\n(Human|Assistant):")


def parse_hh_transcript(text: str, source: str = "<hh>", index: int | str = 0, field: str = "text") -> list[dict]:
    """``"\\n\\nHuman: ...\\n\\nAssistant: ..."`` -> chat messages."""
    if not isinstance(text, str):
        raise RecordError(source, index, field, f"expected a string transcript, got {type(text).__name__}")
    parts = _HH_TURN.split(text)
    if parts[0].strip():
        raise RecordError(source, index, field, "text before the first 'Human:' turn")
    roles = {"Human": "user", "Assistant": "assistant"}
    messages = [{"role": roles[speaker], "content": body.strip()} for speaker, body in zip(parts[1::2], parts[2::2])]
    if not messages:
        raise RecordError(source, index, field, "no 'Human:' / 'Assistant:' turns found")
    return messages


def from_hh(chosen_text: str, rejected_text: str, source: str = "<hh>", index: int | str = 0) -> dict:
    """An HH-RLHF pair of transcripts -> a preference record (the last assistant turns differ)."""
    chosen = parse_hh_transcript(chosen_text, source, index, "chosen")
    rejected = parse_hh_transcript(rejected_text, source, index, "rejected")
    return from_full_conversations(chosen, rejected, source, index)

