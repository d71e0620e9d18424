"""Deterministic generation of the built-in data from a seed: training pairs, held-out test prompts, two-turn prompts.

Each topic has three questions; for every topic one question (drawn from the seed) is held out, and only the
held-out questions appear in the test and two-turn prompts, so no evaluation prompt repeats a training prompt.
Every split draws from its own random stream, so changing one size leaves the other splits unchanged.
"""
from __future__ import annotations

import random
from functools import lru_cache

from .bank import TOPICS, Topic
from .catalogue import Constraint, compatible, describe
from .compose import compose
from .draw import constraint_args, draw_constraints, pick_violations, prompt_text
from .items import BuiltinData, PromptItem, Turn, TwoTurnItem

GENERATOR_VERSION = "builtin-v1"
DEFAULT_SEED = 0
DEFAULT_SIZES = {"n_train": 2000, "n_test": 200, "n_two_turn": 80}

N_CONSTRAINTS_WEIGHTS = {1: 0.35, 2: 0.45, 3: 0.20}
REJECTED_STYLES = {"clean": 0.6, "offtopic": 0.2, "clumsy": 0.2}


def _make_item(rng: random.Random, topic: Topic, question: str, split: str, index: int) -> PromptItem | None:
    n = rng.choices(list(N_CONSTRAINTS_WEIGHTS), weights=list(N_CONSTRAINTS_WEIGHTS.values()))[0]
    constraints = draw_constraints(rng, topic, n)
    if constraints is None:
        return None
    reference = compose(rng, topic, list(constraints))
    style = rng.choices(list(REJECTED_STYLES), weights=list(REJECTED_STYLES.values()))[0]
    rejected = compose(rng, topic, list(constraints), pick_violations(rng, constraints), style)
    if reference is None or rejected is None:
        return None
    return PromptItem(f"builtin-{split}-{index:05d}", split, topic.key, question, constraints,
                      prompt_text(rng, question, constraints), reference, rejected)


def _held_out_questions(seed: int) -> dict[str, int]:
    rng = random.Random(f"builtin/{seed}/held-out")
    return {t.key: rng.randrange(len(t.questions)) for t in TOPICS}


def _collect(count: int, what: str, attempt) -> list:
    """``count`` items from ``attempt(index)`` (None: rejected, try again), with a bound on the attempts."""
    items: list = []
    attempts = 0
    while len(items) < count:
        attempts += 1
        if attempts > 50 * count + 100:
            raise RuntimeError(f"builtin generator: could not write {count} {what}")
        item = attempt(len(items))
        if item is not None:
            items.append(item)
    return items


def _items(seed: int, split: str, count: int, held_out: dict[str, int], seen: set[str]) -> list[PromptItem]:
    rng = random.Random(f"builtin/{seed}/{split}")

    def attempt(index: int) -> PromptItem | None:
        topic = rng.choice(TOPICS)
        if split == "train":
            question = rng.choice([q for i, q in enumerate(topic.questions) if i != held_out[topic.key]])
        else:
            question = topic.questions[held_out[topic.key]]
        item = _make_item(rng, topic, question, split, index)
        if item is None or item.prompt in seen:
            return None
        seen.add(item.prompt)
        return item

    return _collect(count, f"{split} items (seed {seed})", attempt)


_CHANGE_INTRO = ("Please rewrite your answer with one change: ", "Thanks. Now rewrite it, but this time: ",
                 "Let's adjust that answer. New instruction: ")
_CHANGE_OUTRO = (" This replaces my earlier instruction about {what}; keep the other requirements.",
                 " Forget what I said before about {what}, but keep everything else.")
_ADD_INTRO = ("Now rewrite your answer, keeping all the earlier requirements, and also: ",
              "Good. Please revise it so that it still follows my earlier instructions and also: ",
              "Rewrite that answer. Keep the previous rules and add this one: ")
_WHAT = {"max_words": "the length", "min_words": "the length", "bullets": "bullet points", "keywords": "which words to include",
         "forbidden_word": "the word to avoid", "start_with": "how to begin", "end_with": "how to end",
         "num_sentences": "the number of sentences", "num_paragraphs": "paragraphs", "arithmetic": "the sum",
         "json_keys": "the JSON keys", "lowercase": "letter case", "uppercase": "letter case"}


def _make_two_turn(rng: random.Random, topic: Topic, question: str, index: int) -> TwoTurnItem | None:
    first = draw_constraints(rng, topic, rng.choice((1, 2)))
    if first is None:
        return None
    changeable = [c for c in first if c.kind in _WHAT]
    if changeable and rng.random() < 0.5:
        old = rng.choice(changeable)
        others = tuple(c for c in first if c is not old)
        swap = {"lowercase": "uppercase", "uppercase": "lowercase"}.get(old.kind)
        if swap:
            if not compatible(swap, [c.kind for c in others]):
                return None
            new = Constraint(swap, {}, describe(swap, {}, rng))
        else:
            for _ in range(10):
                args = constraint_args(old.kind, rng, topic, {c.kind: c.args for c in others})
                if args is not None and args != old.args:
                    break
            else:
                return None
            new = Constraint(old.kind, args, describe(old.kind, args, rng))
        second = tuple(new if c is old else c for c in first)
        text = rng.choice(_CHANGE_INTRO) + new.text + rng.choice(_CHANGE_OUTRO).format(what=_WHAT[old.kind])
        change = "change"
    else:
        added = draw_constraints(rng, topic, 1, fixed=first)
        if added is None:
            return None
        second = first + added
        text = rng.choice(_ADD_INTRO) + added[0].text
        change = "add"
    content_seed = rng.random()  # both references draw the same sentences where their shapes allow
    ref1 = compose(random.Random(content_seed), topic, list(first))
    ref2 = compose(random.Random(content_seed), topic, list(second))
    if ref1 is None or ref2 is None:
        return None
    turns = (Turn(prompt_text(rng, question, first), first, ref1), Turn(text, second, ref2))
    return TwoTurnItem(f"builtin-2turn-{index:04d}", topic.key, question, change, turns)


def _two_turn_items(seed: int, count: int, held_out: dict[str, int]) -> list[TwoTurnItem]:
    rng = random.Random(f"builtin/{seed}/two_turn")

    def attempt(index: int) -> TwoTurnItem | None:
        topic = rng.choice(TOPICS)
        return _make_two_turn(rng, topic, topic.questions[held_out[topic.key]], index)

    return _collect(count, f"two-turn items (seed {seed})", attempt)


@lru_cache(maxsize=8)
def build(seed: int = DEFAULT_SEED, n_train: int = DEFAULT_SIZES["n_train"], n_test: int = DEFAULT_SIZES["n_test"],
          n_two_turn: int = DEFAULT_SIZES["n_two_turn"]) -> BuiltinData:
    """All splits for a seed. Cached: the same arguments give the same (immutable) object."""
    for name, value in (("n_train", n_train), ("n_test", n_test), ("n_two_turn", n_two_turn)):
        if not isinstance(value, int) or value < 0:
            raise ValueError(f"builtin data: {name} must be a non-negative integer, got {value!r}")
    held_out = _held_out_questions(seed)
    seen: set[str] = set()
    test = _items(seed, "test", n_test, held_out, seen)
    train = _items(seed, "train", n_train, held_out, seen)
    two_turn = _two_turn_items(seed, n_two_turn, held_out)
    return BuiltinData(seed, GENERATOR_VERSION, tuple(train), tuple(test), tuple(two_turn))
