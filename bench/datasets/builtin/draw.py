"""Drawing one prompt's constraints: each topic's vocabulary (for keyword and forbidden-word constraints), the
arguments of each constraint kind, a compatible set of them, the prompt text that states them, and which of them a
rejected answer breaks."""
from __future__ import annotations

import random
import re
from functools import lru_cache

from .bank import OFF_TOPIC_FILLERS, TOPICS, Topic
from .catalogue import (ARITH_SENTENCES, END_PHRASES, JSON_KEY_SETS, KINDS, POSTSCRIPTS, START_PHRASES, Constraint,
                        arith_result, compatible, describe)
from .compose import _COMMA_OPENERS

# How often each kind is drawn. Every kind is kept; the mix sets how hard the task is overall.
KIND_WEIGHTS: dict[str, float] = {kind: 1.0 for kind in KINDS}

_STOPWORDS = frozenset("""a about after again all also an and any are as at be because been before being better
both but by can cannot could day days different does doing each early easier easy even every few first for from
get gets give gives good has have help helps how if in into is it its just keep keeps less like little long make
makes many may means more most much need needs never new not of off often on once one only or other others out
over own part people rather really same should simple since so some something sure than that the their them then
there these they thing things this those through time times to too turn turns until up use used uses usually very
want way ways week well what when where whether which while who why will with without work works would year you
your""".split())


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

def constraint_args(kind: str, rng: random.Random, topic: Topic, taken: dict[str, dict]) -> dict | None:
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
        args = constraint_args(kind, rng, topic, taken)
        if args is None:
            return None
        chosen.append(Constraint(kind, args, describe(kind, args, rng)))
        taken[kind] = args
    return tuple(chosen[len(fixed):])


def prompt_text(rng: random.Random, question: str, constraints: tuple[Constraint, ...]) -> str:
    texts = [c.text for c in constraints]
    layout = rng.random()
    if layout < 0.6 or len(texts) == 1:
        return " ".join([question] + texts)
    if layout < 0.8:
        return question + "\n\n" + " ".join(texts)
    return question + "\n\nRequirements:\n" + "\n".join(f"{i}. {t}" for i, t in enumerate(texts, 1))


def pick_violations(rng: random.Random, constraints: tuple[Constraint, ...]) -> set[str]:
    kinds = [c.kind for c in constraints]
    n = 2 if len(kinds) > 1 and rng.random() < 0.3 else 1
    return set(rng.sample(kinds, n))
