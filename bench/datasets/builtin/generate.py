"""Deterministic generation of the built-in data from a seed: training pairs, held-out test prompts, two-turn prompts.

Each topic has three questions; for every topic one question (drawn from the seed) is held out, and only the
held-out questions appear in the test and two-turn prompts, so no evaluation prompt repeats a training prompt.
Every split draws from its own random stream, so changing one size leaves the other splits unchanged.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass
from functools import lru_cache

from .bank import OFF_TOPIC_FILLERS, TOPICS, Topic
from .catalogue import (ARITH_SENTENCES, END_PHRASES, JSON_KEY_SETS, KINDS, POSTSCRIPTS, START_PHRASES,
                        Constraint, arith_result, compatible, describe)
from .compose import _COMMA_OPENERS, compose

GENERATOR_VERSION = "builtin-v1"
DEFAULT_SEED = 0
DEFAULT_SIZES = {"n_train": 2000, "n_test": 200, "n_two_turn": 80}

# How often each kind is drawn. Every kind is kept; the mix sets how hard the task is overall.
KIND_WEIGHTS: dict[str, float] = {kind: 1.0 for kind in KINDS}
N_CONSTRAINTS_WEIGHTS = {1: 0.35, 2: 0.45, 3: 0.20}
REJECTED_STYLES = {"clean": 0.6, "offtopic": 0.2, "clumsy": 0.2}

_STOPWORDS = frozenset("""a about after again all also an and any are as at be because been before being better
both but by can cannot could day days different does doing each early easier easy even every few first for from
get gets give gives good has have help helps how if in into is it its just keep keeps less like little long make
makes many may means more most much need needs never new not of off often on once one only or other others out
over own part people rather really same should simple since so some something sure than that the their them then
there these they thing things this those through time times to too turn turns until up use used uses usually very
want way ways week well what when where whether which while who why will with without work works would year you
your""".split())


@dataclass(frozen=True)
class PromptItem:
    id: str
    split: str  # "train" | "test"
    topic: str
    question: str
    constraints: tuple[Constraint, ...]
    prompt: str  # the whole user message
    reference: str  # satisfies every constraint
    rejected: str  # fails at least one

    @property
    def messages(self) -> list[dict]:
        return [{"role": "user", "content": self.prompt}]

    def to_dict(self) -> dict:
        return {"id": self.id, "split": self.split, "topic": self.topic, "question": self.question,
                "constraints": [c.to_dict() for c in self.constraints], "prompt": self.prompt,
                "reference": self.reference, "rejected": self.rejected}


@dataclass(frozen=True)
class Turn:
    prompt: str
    constraints: tuple[Constraint, ...]  # everything the answer to this turn must satisfy
    reference: str


@dataclass(frozen=True)
class TwoTurnItem:
    id: str
    topic: str
    question: str
    change: str  # "add": turn 2 adds a constraint; "change": turn 2 replaces one
    turns: tuple[Turn, Turn]

    def to_dict(self) -> dict:
        return {"id": self.id, "topic": self.topic, "question": self.question, "change": self.change,
                "turns": [{"prompt": t.prompt, "constraints": [c.to_dict() for c in t.constraints],
                           "reference": t.reference} for t in self.turns]}


@dataclass(frozen=True)
class BuiltinData:
    seed: int
    version: str
    train: tuple[PromptItem, ...]
    test: tuple[PromptItem, ...]
    two_turn: tuple[TwoTurnItem, ...]

    @property
    def data_version(self) -> str:
        return f"{self.version}+seed{self.seed}"


# --- per-topic vocabulary for keyword and forbidden-word constraints --------------------------------------

def _generic_text(with_titles: bool = True) -> str:
    parts = (START_PHRASES + END_PHRASES + POSTSCRIPTS + ARITH_SENTENCES + OFF_TOPIC_FILLERS + _COMMA_OPENERS
             + tuple(k for keys in JSON_KEY_SETS for k in keys) + ("details",))
    return " ".join(parts + (tuple(t.title for t in TOPICS) if with_titles else ())).lower()


def _in_title(word: str, topic: Topic) -> bool:
    return re.search(rf"\b{word}\b", topic.title.lower()) is not None


@lru_cache(maxsize=None)
def topic_vocabulary(key: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(keyword candidates, forbidden-word candidates) for a topic.

    Keywords appear in one or two of the topic's sentences, so an answer has to pick them up on purpose;
    forbidden words appear in at least two (and are missing from at least three), so a careless answer tends
    to use them while a careful one can do without. Neither occurs in any
    phrase an answer may carry regardless of topic (start/end phrases, titles, JSON keys ...).
    """
    topic = next(t for t in TOPICS if t.key == key)
    generic = _generic_text()
    counts: dict[str, int] = {}
    for sentence in topic.sentences:
        for word in set(re.findall(r"[a-z]+", sentence.lower())):
            counts[word] = counts.get(word, 0) + 1
    usable = {w: n for w, n in counts.items() if w not in _STOPWORDS and len(w) >= 4}
    # keywords are checked as substrings (as IFEval does), forbidden words as whole words
    keywords = tuple(sorted(w for w, n in usable.items() if len(w) >= 6 and n <= 2 and w not in generic))
    # a forbidden word may be in the topic's own title: then no title or JSON constraint goes with it
    generic_words = set(re.findall(r"[a-z]+", _generic_text(with_titles=False)))
    forbidden = tuple(sorted(w for w, n in usable.items()
                             if n >= 2 and len(topic.sentences) - n >= 3 and w not in generic_words))
    return keywords, forbidden


# --- drawing constraints ------------------------------------------------------------------------------------

def _args(kind: str, rng: random.Random, topic: Topic, taken: dict[str, dict]) -> dict | None:
    keywords, forbidden = topic_vocabulary(topic.key)
    if kind == "max_words":
        return {"n": rng.choice((30, 40, 50, 60))}
    if kind == "min_words":
        return {"n": rng.choice((40, 50, 60))}
    if kind == "bullets":
        return {"n": rng.randint(2, 5)}
    if kind == "num_sentences":
        return {"n": rng.randint(2, 5)}
    if kind == "num_paragraphs":
        return {"n": rng.randint(2, 4)}
    if kind == "keywords":
        avoid = taken.get("forbidden_word", {}).get("word")
        options = [w for w in keywords if not avoid or (avoid not in w and w not in avoid)]
        if not options:
            return None
        return {"words": sorted(rng.sample(options, min(len(options), rng.choice((1, 2)))))}
    if kind == "forbidden_word":
        chosen_keywords = taken.get("keywords", {}).get("words", [])
        titled = "title" in taken or "json_keys" in taken
        options = [w for w in forbidden if all(w not in k and k not in w for k in chosen_keywords)
                   and not (titled and _in_title(w, topic))]
        return {"word": rng.choice(options)} if options else None
    if kind == "start_with":
        return {"phrase": rng.choice(START_PHRASES)}
    if kind == "end_with":
        return {"phrase": rng.choice(END_PHRASES)}
    if kind == "arithmetic":
        while True:
            op = rng.choice(("+", "-", "x"))
            if op == "+":
                a, b = rng.randint(11, 59), rng.randint(11, 59)
            elif op == "-":
                a = rng.randint(30, 99)
                b = rng.randint(5, a - 6)
            else:
                a, b = rng.randint(3, 12), rng.randint(3, 12)
            result = arith_result(a, op, b)
            if result not in (a, b):
                return {"a": a, "op": op, "b": b, "result": result}
    if kind in ("title", "json_keys") and _in_title(taken.get("forbidden_word", {}).get("word", "-"), topic):
        return None
    if kind == "json_keys":
        return {"keys": list(rng.choice(JSON_KEY_SETS))}
    return {}


def draw_constraints(rng: random.Random, topic: Topic, n: int, fixed: tuple[Constraint, ...] = (),
                     exclude: frozenset[str] = frozenset()) -> tuple[Constraint, ...] | None:
    """``n`` mutually compatible constraints (after the ``fixed`` ones), or None if the draw got stuck."""
    chosen = list(fixed)
    taken = {c.kind: c.args for c in chosen}
    for _ in range(n):
        kinds = [k for k in KINDS if k not in exclude and compatible(k, [c.kind for c in chosen])]
        if not kinds:
            return None
        kind = rng.choices(kinds, weights=[KIND_WEIGHTS[k] for k in kinds])[0]
        args = _args(kind, rng, topic, taken)
        if args is None:
            return None
        chosen.append(Constraint(kind, args, describe(kind, args, rng)))
        taken[kind] = args
    return tuple(chosen[len(fixed):])


def _prompt_text(rng: random.Random, question: str, constraints: tuple[Constraint, ...]) -> str:
    texts = [c.text for c in constraints]
    layout = rng.random()
    if layout < 0.6 or len(texts) == 1:
        return " ".join([question] + texts)
    if layout < 0.8:
        return question + "\n\n" + " ".join(texts)
    return question + "\n\nRequirements:\n" + "\n".join(f"{i}. {t}" for i, t in enumerate(texts, 1))


def _pick_violations(rng: random.Random, constraints: tuple[Constraint, ...]) -> set[str]:
    kinds = [c.kind for c in constraints]
    n = 2 if len(kinds) > 1 and rng.random() < 0.3 else 1
    return set(rng.sample(kinds, n))


def _make_item(rng: random.Random, topic: Topic, question: str, split: str, index: int) -> PromptItem | None:
    n = rng.choices(list(N_CONSTRAINTS_WEIGHTS), weights=list(N_CONSTRAINTS_WEIGHTS.values()))[0]
    constraints = draw_constraints(rng, topic, n)
    if constraints is None:
        return None
    reference = compose(rng, topic, list(constraints))
    style = rng.choices(list(REJECTED_STYLES), weights=list(REJECTED_STYLES.values()))[0]
    rejected = compose(rng, topic, list(constraints), _pick_violations(rng, constraints), style)
    if reference is None or rejected is None:
        return None
    return PromptItem(f"builtin-{split}-{index:05d}", split, topic.key, question, constraints,
                      _prompt_text(rng, question, constraints), reference, rejected)


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
                args = _args(old.kind, rng, topic, {c.kind: c.args for c in others})
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
    turns = (Turn(_prompt_text(rng, question, first), first, ref1), Turn(text, second, ref2))
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
