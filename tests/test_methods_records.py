"""Bad input gets a clear error naming the record and the field; the HH-RLHF converter on real data."""
from __future__ import annotations

import gzip
import json

import pytest

from bench.models import load_tokenizer
from methods.records import RecordError, from_full_conversations, from_hh, parse_hh_transcript, validate_preference, validate_sft
from methods.tokenize import Lengths, TokenizerMismatch, check_tokenizer_pair, tokenize_preference, tokenize_sft


def _pair(**override):
    record = {"prompt": [{"role": "user", "content": "Hi there?"}],
              "chosen": [{"role": "assistant", "content": "Hello."}],
              "rejected": [{"role": "assistant", "content": "Bye."}]}
    record.update(override)
    return record


def _raises(record, field, *words, check=validate_preference):
    with pytest.raises(RecordError) as info:
        check(record, "train.jsonl", 7)
    message = str(info.value)
    assert "train.jsonl" in message and "record 7" in message and f"field '{field}'" in message, message
    assert info.value.field == field and info.value.index == 7
    for word in words:
        assert word in message, message
    return message


@pytest.mark.parametrize("key", ["prompt", "chosen", "rejected"])
def test_missing_key(key):
    record = _pair()
    del record[key]
    _raises(record, key, "missing")


def test_missing_message_keys():
    _raises(_pair(chosen=[{"content": "Hello."}]), "chosen[0].role", "missing")
    _raises(_pair(prompt=[{"role": "user"}]), "prompt[0].content", "missing")
    _raises({"messages": [{"role": "user", "content": "q"}, {"role": "assistant"}]}, "messages[1].content", "missing",
            check=validate_sft)


def test_not_an_object():
    _raises(["prompt"], "<record>", "list")


def test_wrong_roles():
    _raises(_pair(prompt=[{"role": "bot", "content": "x"}]), "prompt[0].role", "'bot'")
    _raises(_pair(chosen=[{"role": "user", "content": "x"}]), "chosen[0].role", "assistant")
    _raises(_pair(prompt=[{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]), "prompt[1].role", "user turn")
    _raises(_pair(prompt=[{"role": "user", "content": "q"}, {"role": "system", "content": "s"}, {"role": "user", "content": "q"}]),
            "prompt[1].role", "system")
    _raises({"messages": [{"role": "user", "content": "q"}]}, "messages[0].role", "assistant", check=validate_sft)


@pytest.mark.parametrize("content, words", [("", ["empty"]), ("  \n", ["empty"]), (5, ["string", "int"]),
                                            (None, ["string", "NoneType"]), (["a"], ["string", "list"])])
def test_empty_or_non_string_content(content, words):
    _raises(_pair(rejected=[{"role": "assistant", "content": content}]), "rejected[0].content", *words)
    _raises({"messages": [{"role": "user", "content": content}, {"role": "assistant", "content": "a"}]},
            "messages[0].content", *words, check=validate_sft)


def test_empty_message_lists():
    _raises(_pair(chosen=[]), "chosen", "non-empty")
    _raises(_pair(prompt="Hi"), "prompt", "list")
    _raises(_pair(chosen=[{"role": "assistant", "content": "a"}, {"role": "assistant", "content": "b"}]), "chosen", "exactly one")


def test_prompt_longer_than_max_length(tokenizer):
    long_prompt = [{"role": "user", "content": "word " * 200}]
    lengths = Lengths(max_length=128, max_prompt_length=64)
    with pytest.raises(RecordError) as info:
        tokenize_preference(tokenizer, _pair(prompt=long_prompt), lengths, "train.jsonl", 3)
    assert "record 3" in str(info.value) and "field 'prompt'" in str(info.value) and "max_prompt_length=64" in str(info.value)
    with pytest.raises(RecordError, match="record 4: field 'prompt'"):
        tokenize_sft(tokenizer, {"messages": long_prompt + [{"role": "assistant", "content": "a"}]}, lengths, "train.jsonl", 4)


def test_response_truncated_to_max_length(tokenizer):
    lengths = Lengths(max_length=60, max_prompt_length=50)
    example = tokenize_preference(tokenizer, _pair(chosen=[{"role": "assistant", "content": "yes " * 100}]), lengths)
    assert len(example["prompt_ids"]) + len(example["chosen_ids"]) == 60
    assert example["rejected_ids"][-1] == tokenizer.eos_token_id  # a short response keeps its EOS


def _fake_tok(vocab, eos=2, pad=2, bos=1, template="{{ messages }}"):
    from types import SimpleNamespace

    return SimpleNamespace(get_vocab=lambda: dict(vocab), eos_token_id=eos, pad_token_id=pad, bos_token_id=bos, chat_template=template)


VOCAB = {"<s>": 1, "</s>": 2, "a": 3, "b": 4, "abc": 5, "z": 6}


def test_same_tokenizer_family_passes(tokenizer):
    pair = check_tokenizer_pair(tokenizer, load_tokenizer("tiny-random-teacher"), "t", "s")
    assert pair.same_chat_template and pair.warnings == () and pair.vocab_size == len(tokenizer.get_vocab())


@pytest.mark.parametrize("teacher_vocab, student_vocab, first", [
    ({**VOCAB, "abc": 5, "z": 9}, {**VOCAB, "abc": 7, "z": 8}, "token 'abc': id 5 in teacher T-model, id 7 in student S-model"),
    (VOCAB, {k: v for k, v in VOCAB.items() if k != "b"}, "token 'b': id 4 in teacher T-model, absent from student S-model"),
    (VOCAB, {**VOCAB, "extra": 9, "more": 8}, "token 'more': absent from teacher T-model, id 8 in student S-model"),
])
def test_vocabulary_difference_names_both_models_and_the_first_difference(teacher_vocab, student_vocab, first):
    with pytest.raises(TokenizerMismatch) as info:
        check_tokenizer_pair(_fake_tok(teacher_vocab), _fake_tok(student_vocab), "T-model", "S-model")
    assert first in str(info.value) and isinstance(info.value, ValueError)


@pytest.mark.parametrize("attr, teacher, student", [("eos_token_id", 2, 0), ("bos_token_id", 1, None)])
def test_eos_and_bos_ids_must_match(attr, teacher, student):
    keys = {"eos_token_id": "eos", "bos_token_id": "bos"}
    with pytest.raises(TokenizerMismatch, match=f"{attr}: {teacher} in teacher T-model, {student} in student S-model"):
        check_tokenizer_pair(_fake_tok(VOCAB, **{keys[attr]: teacher}), _fake_tok(VOCAB, **{keys[attr]: student}), "T-model", "S-model")


def test_chat_template_and_pad_differences_are_warnings():
    pair = check_tokenizer_pair(_fake_tok(VOCAB, pad=2, template="A"), _fake_tok(VOCAB, pad=0, template="B"), "T-model", "S-model")
    assert not pair.same_chat_template and len(pair.warnings) == 2
    assert "pad_token_id: 2 in teacher T-model, 0 in student S-model" in pair.warnings[0]
    assert "chat templates differ" in pair.warnings[1] and "T-model" in pair.warnings[1] and "S-model" in pair.warnings[1]


def test_real_tokenizer_with_an_extra_token_is_refused(tokenizer):
    other = load_tokenizer("tiny-random")
    other.add_tokens(["<an_extra_token>"])
    with pytest.raises(TokenizerMismatch, match="token '<an_extra_token>': id 49152 in teacher my-teacher, absent from student my-student"):
        check_tokenizer_pair(other, tokenizer, "my-teacher", "my-student")


def test_hh_converter_on_a_real_line(data_dir):
    with gzip.open(data_dir / "hh_rlhf" / "harmless-base-test.jsonl.gz", "rt", encoding="utf-8") as f:
        line = json.loads(next(f))
    record = from_hh(line["chosen"], line["rejected"], "harmless-base-test", 0)
    validate_preference(record)
    # Independent reading of the transcript: the last "Assistant:" turn is the response, the first "Human:" opens it.
    chosen_head, chosen_answer = line["chosen"].rsplit("\n\nAssistant:", 1)
    _, rejected_answer = line["rejected"].rsplit("\n\nAssistant:", 1)
    assert record["chosen"] == [{"role": "assistant", "content": chosen_answer.strip()}]
    assert record["rejected"] == [{"role": "assistant", "content": rejected_answer.strip()}]
    assert record["prompt"][0]["role"] == "user" and record["prompt"][-1]["role"] == "user"
    first_human = chosen_head.split("\n\nHuman:", 1)[1].split("\n\nAssistant:", 1)[0].strip()
    assert record["prompt"][0]["content"] == first_human
    assert len(record["prompt"]) == chosen_head.count("\n\nHuman:") + chosen_head.count("\n\nAssistant:")


def test_hh_converter_bad_input():
    with pytest.raises(RecordError, match="record 2: field 'chosen'"):
        from_hh("no turns at all", "\n\nHuman: hi\n\nAssistant: yo", "hh", 2)
    with pytest.raises(RecordError, match="record 2: field 'rejected'"):
        from_hh("\n\nHuman: hi\n\nAssistant: yo", None, "hh", 2)
    with pytest.raises(RecordError, match="field 'rejected'.*differ before"):
        from_hh("\n\nHuman: hi\n\nAssistant: yo", "\n\nHuman: hello\n\nAssistant: yo", "hh", 2)
    assert parse_hh_transcript("\n\nHuman: a\n\nAssistant: b") == [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]


def test_full_conversation_converter():
    chosen = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "good"}]
    rejected = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "bad"}]
    assert from_full_conversations(chosen, rejected) == {"prompt": chosen[:1], "chosen": chosen[1:], "rejected": rejected[1:]}
