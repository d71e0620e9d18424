"""The built-in generator: chosen passes, rejected fails, deterministic, fast, valid records, disjoint splits."""
from __future__ import annotations

import re
import time
from collections import Counter

import pytest

from bench.datasets import get_source
from bench.datasets.builtin import CONFLICTS, KINDS, build, preference_record, verify
from bench.datasets.builtin.bank import TOPICS
from bench.datasets.builtin.draw import topic_vocabulary
from bench.datasets.builtin.generate import DEFAULT_SIZES
from methods.records import validate_all

SMALL = {"n_train": 300, "n_test": 60, "n_two_turn": 30}


@pytest.fixture(scope="module")
def data():
    return build(0, **SMALL)


def _all_items(d):
    return list(d.train) + list(d.test)


def test_phrase_bank_follows_the_rules_the_generator_relies_on():
    assert len(TOPICS) >= 24
    for topic in TOPICS:
        assert len(topic.questions) == 3 and len(topic.sentences) >= 8
        for sentence in topic.sentences:
            assert sentence.endswith(".") and sentence[0].isupper(), sentence
            assert not re.search(r"[0-9\"*<>,]|\b[A-Za-z]\.[A-Za-z]\.", sentence), sentence
        keywords, forbidden = topic_vocabulary(topic.key)
        assert keywords and forbidden, topic.key


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_every_chosen_passes_and_every_rejected_fails(seed):
    d = build(seed, **SMALL)
    for item in _all_items(d):
        chosen = verify(item, item.reference)
        assert chosen.strict == 1.0, (item.id, item.prompt, item.reference, chosen.failed)
        rejected = verify(item, item.rejected)
        assert rejected.strict < 1.0, (item.id, item.prompt, item.rejected)
    for item in d.two_turn:
        for turn in item.turns:
            assert verify(turn, turn.reference).strict == 1.0, (item.id, turn.prompt, turn.reference)


def test_constraints_never_conflict_and_cover_the_catalogue(data):
    seen = Counter()
    for item in _all_items(data):
        kinds = [c.kind for c in item.constraints]
        assert 1 <= len(kinds) <= 3
        for i, a in enumerate(kinds):
            seen[a] += 1
            for b in kinds[i + 1:]:
                assert b not in CONFLICTS[a], (item.id, kinds)
        assert all(c.text and c.text in item.prompt for c in item.constraints)
    assert set(seen) == set(KINDS)
    for item in data.two_turn:
        kinds = [c.kind for c in item.turns[1].constraints]
        assert all(b not in CONFLICTS[a] for i, a in enumerate(kinds) for b in kinds[i + 1:]), (item.id, kinds)


def test_deterministic_for_a_seed_and_different_across_seeds():
    a = build.__wrapped__(3, **SMALL)  # bypass the cache: generate twice
    b = build.__wrapped__(3, **SMALL)
    assert [i.to_dict() for i in a.train + a.test] == [i.to_dict() for i in b.train + b.test]
    assert [i.to_dict() for i in a.two_turn] == [i.to_dict() for i in b.two_turn]
    c = build.__wrapped__(4, **SMALL)
    assert [i.prompt for i in a.test] != [i.prompt for i in c.test]


def test_split_sizes_do_not_change_the_other_splits():
    small = build(0, n_train=50, n_test=20, n_two_turn=5)
    other = build(0, n_train=80, n_test=20, n_two_turn=9)
    assert [i.to_dict() for i in small.test] == [i.to_dict() for i in other.test]
    assert [i.to_dict() for i in small.two_turn] == [i.to_dict() for i in other.two_turn[:5]]


def test_held_out_prompts_never_appear_in_training():
    d = build(0)
    train_questions = {i.question for i in d.train}
    train_prompts = {i.prompt for i in d.train}
    assert all(i.question not in train_questions for i in d.test)
    assert all(t.question not in train_questions for t in d.two_turn)
    assert all(i.prompt not in train_prompts for i in d.test)
    assert len({i.prompt for i in d.test}) == len(d.test)


def test_default_sizes_and_generation_time():
    started = time.process_time()  # CPU time: other processes on a shared machine do not count
    d = build.__wrapped__(11)
    elapsed = time.process_time() - started
    assert (len(d.train), len(d.test), len(d.two_turn)) == tuple(DEFAULT_SIZES.values()) == (2000, 200, 80)
    assert elapsed < 5.0, elapsed  # the bound; measured about 1.3 s
    assert {t.change for t in d.two_turn} == {"add", "change"}


def test_records_validate_and_source_is_registered(data):
    source = get_source("builtin")
    assert "builtin" in source.name and source.description
    records = [preference_record(i) for i in data.train]
    validate_all(records, "preference", "builtin-test")
    small = type(source)(seed=0, **SMALL)
    pairs = small.preference("train")
    assert len(pairs) == SMALL["n_train"] and pairs[0]["prompt"][-1]["role"] == "user"
    assert pairs[0]["chosen"][0]["content"] != pairs[0]["rejected"][0]["content"]
    sft = small.sft("test")
    assert len(sft) == SMALL["n_test"] and sft[0]["messages"][-1]["role"] == "assistant"
    validate_all(sft, "sft", "builtin-sft")
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        small.preference("dev")


def test_rejected_answers_are_sometimes_off_topic_or_clumsy(data):
    # off-topic: shares no sentence with the topic's bank; clumsy: some sentence is not from any bank
    bank = {s.lower() for t in TOPICS for s in t.sentences}
    off_topic = clumsy = 0
    for item in data.train:
        topic = next(t for t in TOPICS if t.key == item.topic)
        own = [s.lower() for s in topic.sentences]
        text = item.rejected.lower()
        if not any(s in text for s in own):
            off_topic += 1
        sentences = re.findall(r"[a-z][^.!?\n]*[.]", text)
        if any(len(s.split()) >= 6 and s not in bank and not any(s in b or b in s for b in bank) for s in sentences):
            clumsy += 1
    assert off_topic > 0.05 * len(data.train)
    assert clumsy > 0.05 * len(data.train)
