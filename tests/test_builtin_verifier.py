"""The built-in verifier on hand-written responses: every constraint kind accepts a passing and rejects a failing one."""
from __future__ import annotations

import pytest

from bench.datasets.builtin import KINDS, CONFLICTS, Constraint, gold_judgement, verify
from bench.datasets.builtin.verify import count_paragraphs, count_sentences, count_words

# kind -> (args, [passing responses], [failing responses]); all written by hand.
CASES: dict[str, tuple[dict, list[str], list[str]]] = {
    "lowercase": ({}, ["water the plant once a week and keep it near a bright window."],
                  ["Water the plant once a week.", "water the plant near the TV."]),
    "uppercase": ({}, ["WATER THE PLANT ONCE A WEEK.", "KEEP IT AT 20 DEGREES!"],
                  ["WATER THE PLANT once a week.", "Water the plant."]),
    "max_words": ({"n": 6}, ["Keep it short and sweet.", "One two three four five."],
                  ["This answer has exactly six words.", "Here is a much longer answer than allowed by the limit."]),
    "min_words": ({"n": 6}, ["This answer has exactly six words.", "Plenty of words are written in this reply."],
                  ["Too short.", "Only five words are here."]),
    "bullets": ({"n": 3}, ["* eat well\n* sleep enough\n* move daily", "Tips:\n- one\n- two\n- three"],
                ["* eat well\n* sleep enough", "* a\n* b\n* c\n* d", "Eat well, sleep enough and move daily."]),
    "keywords": ({"words": ["sunlight", "drainage"]}, ["Give it Sunlight and good drainage."],
                 ["Give it sunlight and water.", "Good drainage matters."]),
    "forbidden_word": ({"word": "water"}, ["Keep the soil moist and watering light.", "Mist the leaves."],
                       ["Water it weekly.", "Use warm water for the leaves."]),
    "start_with": ({"phrase": "Here is my advice:"}, ["Here is my advice: rest more.", '  "here is my advice: rest."'],
                   ["My advice: rest more.", "Sure! Here is my advice: rest more."]),
    "end_with": ({"phrase": "Good luck!"}, ["Practise daily. Good luck!", "Practise daily. good luck!\n"],
                 ["Good luck! Practise daily.", "Practise daily. Good luck"]),
    "num_sentences": ({"n": 3}, ["Rest well. Eat well! Do you move enough?", "First point.\nSecond point.\nThird point."],
                      ["Rest well. Eat well.", "One. Two. Three. Four."]),
    "num_paragraphs": ({"n": 2}, ["First paragraph here.\n\nSecond paragraph here.", "A.\n\n  \n\nB."],
                       ["Only one paragraph.\nStill the same one.", "One.\n\nTwo.\n\nThree."]),
    "arithmetic": ({"a": 17, "op": "+", "b": 25, "result": 42}, ["17 plus 25 is 42.", "The answer is 42"],
                   ["17 plus 25 is 43.", "The total is 420.", "It is 4.2 or so.", "Forty-two."]),
    "json_keys": ({"keys": ["title", "advice"]},
                  ['{"title": "Plants", "advice": "Water less."}', '```json\n{"advice": "x", "title": "y", "extra": 1}\n```'],
                  ['{"title": "Plants"}', "title: Plants, advice: Water less.", '["title", "advice"]', '{"title": "a", "advice": }']),
    "quotes": ({}, ['"Keep going."', '  "Two lines\nin quotes."  '], ["Keep going.", '"Keep going.', "'Keep going.'"]),
    "no_comma": ({}, ["Rest well and eat well.", "No commas here at all."], ["Rest well, eat well.", "One, two"]),
    "title": ({}, ["<<Sleep Tips>>\n\nRest well.", "Rest well. <<A Title>>"], ["# Sleep Tips\n\nRest well.", "<<>> Rest well."]),
    "postscript": ({}, ["Rest well.\n\nP.S. Drink water.", "Rest well.\nP.S. more tips soon."],
                   ["Rest well.", "Rest well. PS drink water."]),
}


def test_every_kind_has_hand_written_cases():
    assert set(CASES) == set(KINDS)
    assert len(KINDS) >= 10


@pytest.mark.parametrize("kind", KINDS)
def test_verifier_accepts_passing_and_rejects_failing(kind):
    args, passing, failing = CASES[kind]
    constraint = Constraint(kind, args)
    for text in passing:
        verdict = verify([constraint], text)
        assert verdict.strict == 1.0, (kind, text, verdict)
    for text in failing:
        verdict = verify([constraint], text)
        assert verdict.strict == 0.0, (kind, text, verdict)
        assert verdict.failed == [constraint.label()]


def test_scores_are_fractions_and_name_the_failures():
    constraints = [Constraint("lowercase"), Constraint("max_words", {"n": 5}), Constraint("no_comma")]
    verdict = verify(constraints, "this reply is, sadly, longer than five words")
    assert verdict.strict == pytest.approx(1 / 3)
    assert verdict.failed == ["max_words(n=5)", "no_comma"]
    score, rationale = gold_judgement(constraints, "this reply is, sadly, longer than five words")
    assert score == pytest.approx(1 / 3)
    assert "PASS lowercase" in rationale and "FAIL no_comma" in rationale and "1/3" in rationale


def test_loose_forgives_markdown_and_a_leading_line_like_ifeval():
    start = Constraint("start_with", {"phrase": "Here is my advice:"})
    verdict = verify([start], "Sure, happy to help.\nHere is my advice: rest.")
    assert (verdict.strict, verdict.loose) == (0.0, 1.0)
    assert verdict.failed == [start.label()] and verdict.failed_loose == []
    end = Constraint("end_with", {"phrase": "Good luck!"})
    assert verify([end], "Practise daily. **Good luck!**").loose == 1.0
    assert verify([end], "Practise daily. **Good luck!**").strict == 0.0
    # loose is never below strict, and a response failing everywhere fails loosely too
    assert verify([Constraint("uppercase")], "Not caps.\nNot caps either.").loose == 0.0


def test_counters():
    assert count_words("Don't stop: 17 + 25 = 42.") == 6  # IFEval counts runs of word characters
    assert count_sentences('He said "stop." Then left! Why? ok') == 4
    assert count_sentences("Version 2.5 is out. It works.") == 2
    assert count_sentences("<<Title>>\nOne sentence.") == 2
    assert count_paragraphs("\n\nA\nB\n\nC\n\n") == 2


def test_conflict_table_is_symmetric_and_blocks_known_clashes():
    for kind, others in CONFLICTS.items():
        assert kind in others
        for other in others:
            assert kind in CONFLICTS[other]
    for a, b in [("lowercase", "uppercase"), ("json_keys", "bullets"), ("max_words", "min_words"),
                 ("max_words", "num_paragraphs"), ("json_keys", "no_comma"), ("num_sentences", "bullets")]:
        assert b in CONFLICTS[a]


def test_bad_constraint_data_is_named():
    with pytest.raises(ValueError, match="item-7: constraints\\[0\\]: field 'kind'"):
        verify({"id": "item-7", "constraints": [{"kind": "rhymes"}]}, "text")
    with pytest.raises(ValueError, match="no constraints"):
        verify([], "text")
