"""Shaping answers from the phrase bank so that they satisfy, or deliberately violate, given constraints.

Each constraint is turned into requirements on a Shape (which words to include or avoid, the layout, the
sentence count, what goes first and last ...). A constraint to be violated sets the opposite requirement,
so a rejected answer fails it by construction. Sentences are then picked from the topic's bank and
rendered; word limits are met by trying sentence counts in order. Returns None when the combination cannot
be written (the generator then draws other constraints).
"""
from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field

from .bank import OFF_TOPIC_FILLERS, TOPICS, Topic
from .catalogue import ARITH_OPS, ARITH_SENTENCES, END_PHRASES, POSTSCRIPTS, START_PHRASES, Constraint
from .verify import count_words

_COMMA_OPENERS = ("Honestly, ", "In general, ", "Of course, ", "In my experience, ")


@dataclass
class Shape:
    include: list[str] = field(default_factory=list)  # substrings (case-insensitive) that must appear
    exclude: list[str] = field(default_factory=list)  # substrings that must not appear
    avoid_words: list[str] = field(default_factory=list)  # whole words that must not appear
    force_words: list[str] = field(default_factory=list)  # whole words that must appear
    case: str | None = None  # "lower" / "upper"
    min_words: int | None = None  # at least
    max_words: int | None = None  # fewer than
    layout: str = "prose"  # prose | paragraphs | bullets | json
    n_layout: int = 0
    json_keys: tuple[str, ...] = ()
    n_sentences: int | None = None  # exact total, counted as the verifier counts
    start: str | None = None
    end: str | None = None
    title: str | None = None  # "<<...>>" line, or a "# ..." heading when violating
    postscript: str | None = None
    arith: tuple[int, str, int, int] | None = None  # a, op, b, result shown
    quotes: bool = False
    comma: bool = False  # put a comma in on purpose


def _has_word(text: str, word: str) -> bool:
    return re.search(rf"\b{re.escape(word)}\b", text, flags=re.IGNORECASE) is not None


def _other(rng: random.Random, options: tuple[str, ...], not_this: str) -> str:
    return rng.choice([o for o in options if o != not_this and not o.lower().startswith(not_this.lower()[:8])])


def shape_for(constraints: list[Constraint], violate: set[str], rng: random.Random, topic: Topic) -> Shape:
    s = Shape()
    for c in constraints:
        k, a, bad = c.kind, c.args, c.kind in violate
        if k in ("lowercase", "uppercase"):
            if not bad:
                s.case = "lower" if k == "lowercase" else "upper"
        elif k == "max_words":
            if bad:
                s.min_words = a["n"]
            else:
                s.max_words = a["n"]
        elif k == "min_words":
            if bad:
                s.max_words = a["n"]
            else:
                s.min_words = a["n"]
        elif k == "bullets":
            n = a["n"]
            if bad:
                n = rng.choice([m for m in (n - 1, n + 1, 0) if m >= 0 and m != n])
            s.layout, s.n_layout = ("bullets", n) if n else ("prose", 0)
        elif k == "keywords":
            (s.exclude if bad else s.include).extend(a["words"])
        elif k == "forbidden_word":
            (s.force_words if bad else s.avoid_words).append(a["word"])
        elif k == "start_with":
            s.start = (_other(rng, START_PHRASES, a["phrase"]) if rng.random() < 0.5 else None) if bad else a["phrase"]
        elif k == "end_with":
            s.end = (_other(rng, END_PHRASES, a["phrase"]) if rng.random() < 0.5 else None) if bad else a["phrase"]
        elif k == "num_sentences":
            s.n_sentences = rng.choice([m for m in (a["n"] - 1, a["n"] + 1) if m >= 1]) if bad else a["n"]
        elif k == "num_paragraphs":
            n = rng.choice([m for m in (a["n"] - 1, a["n"] + 1) if m >= 1]) if bad else a["n"]
            s.layout, s.n_layout = ("paragraphs", n) if n > 1 else ("prose", 0)
        elif k == "arithmetic":
            if not bad:
                s.arith = (a["a"], a["op"], a["b"], a["result"])
            elif rng.random() < 0.6:
                wrong = [a["result"] + d for d in (-3, -2, -1, 1, 2, 3)]
                wrong = [w for w in wrong if w > 0 and w not in (a["a"], a["b"], a["result"])]
                s.arith = (a["a"], a["op"], a["b"], rng.choice(wrong))
        elif k == "json_keys":
            if not bad:
                s.layout, s.json_keys = "json", tuple(a["keys"])
            elif rng.random() < 0.5:
                s.layout, s.json_keys = "json", tuple(a["keys"][:-1])
        elif k == "quotes":
            s.quotes = not bad
        elif k == "no_comma":
            s.comma = bad
        elif k == "title":
            s.title = (f"# {topic.title}" if rng.random() < 0.5 else None) if bad else f"<<{topic.title}>>"
        elif k == "postscript":
            s.postscript = None if bad else rng.choice(POSTSCRIPTS)
        else:
            raise ValueError(f"unknown constraint kind {k!r}")
    return s


def _arith_sentence(rng: random.Random, arith: tuple[int, str, int, int]) -> str:
    a, op, b, result = arith
    return rng.choice(ARITH_SENTENCES).format(a=a, op=ARITH_OPS[op], b=b, result=result)


def _swap_words(rng: random.Random, sentence: str) -> str:
    words = sentence.split()
    if len(words) < 4:
        return sentence
    i = rng.randrange(1, len(words) - 2)  # keep the first and last word in place
    words[i], words[i + 1] = words[i + 1], words[i]
    return " ".join(words)


def _render(s: Shape, sentences: list[str], topic: Topic, rng_state: random.Random) -> str:
    rng = random.Random(rng_state.random())  # rendering choices do not disturb the caller's stream
    sentences = list(sentences)
    if s.comma and sentences:
        first = sentences[0]
        sentences[0] = rng.choice(_COMMA_OPENERS) + first[0].lower() + first[1:]
    arith = _arith_sentence(rng, s.arith) if s.arith else None
    if s.layout == "json":
        body = _render_json(s, sentences, topic, arith, rng)
    else:
        if arith:
            sentences = [arith] + sentences
        if s.layout == "bullets":
            marker = rng.choice(("*", "*", "-"))
            lead = [sentences.pop(0)] if arith else []
            body = "\n".join(lead + [f"{marker} {x}" for x in sentences])
            if lead:
                body = body.replace("\n", "\n\n", 1)
        elif s.layout == "paragraphs":
            n = s.n_layout
            cuts = sorted(rng.sample(range(1, len(sentences)), n - 1))
            groups = [sentences[i:j] for i, j in zip([0] + cuts, cuts + [len(sentences)])]
            body = "\n\n".join(" ".join(g) for g in groups)
        else:
            body = " ".join(sentences)
        if s.start:
            body = s.start + ("\n" if s.layout == "bullets" else " ") + body
        if s.title:
            body = s.title + "\n\n" + body
        if s.end:
            body = body + ("\n\n" if s.layout == "bullets" else " ") + s.end
        if s.postscript:
            body = body + "\n\n" + s.postscript
    if s.case == "lower":
        body = body.lower()
    elif s.case == "upper":
        body = body.upper()
    if s.quotes:
        body = f'"{body}"'
    return body


def _render_json(s: Shape, sentences: list[str], topic: Topic, arith: str | None, rng: random.Random) -> str:
    obj: dict[str, object] = {}
    keys = list(s.json_keys)
    text_keys = [k for k in keys if k not in ("title", "topic")]
    if not text_keys:  # a violating JSON left with only a title: the content still goes somewhere
        text_keys = ["details"]
        keys.append("details")
    # contiguous, nearly equal groups of sentences, one per text key
    bounds = [round(i * len(sentences) / max(1, len(text_keys))) for i in range(len(text_keys) + 1)]
    chunks = [sentences[i:j] for i, j in zip(bounds, bounds[1:])]
    if arith and chunks:
        chunks[0].insert(0, arith)
    for key in keys:
        if key in ("title", "topic"):
            obj[key] = topic.title
        else:
            part = chunks[text_keys.index(key)]
            obj[key] = part if key == "tips" else " ".join(part)
    return json.dumps(obj, indent=2, ensure_ascii=False)


def _fixed_sentences(s: Shape) -> int:
    """Sentences the shape adds around the content (arithmetic, end phrase, postscript, title line)."""
    return sum((s.arith is not None, s.end is not None, s.postscript is not None, bool(s.title)))


def _ok_sentence(sentence: str, s: Shape) -> bool:
    low = sentence.lower()
    if any(x.lower() in low for x in s.exclude):
        return False
    if any(_has_word(sentence, w) for w in s.avoid_words):
        return False
    return True


def compose(rng: random.Random, topic: Topic, constraints: list[Constraint], violate: set[str] = frozenset(),
            style: str = "clean") -> str | None:
    """An answer to a prompt about ``topic``: satisfies every constraint except those in ``violate``."""
    s = shape_for(constraints, set(violate), rng, topic)
    own = [x for x in topic.sentences if _ok_sentence(x, s)]
    if style == "offtopic":
        other = rng.choice([t for t in TOPICS if t.key != topic.key])
        pool = [x for x in list(other.sentences) + list(OFF_TOPIC_FILLERS) if _ok_sentence(x, s)]
    else:
        pool = list(own)
    rng.shuffle(pool)

    required: list[str] = []
    for word in s.include:
        if not any(word.lower() in x.lower() for x in required):
            having = [x for x in own if word.lower() in x.lower()]
            if not having:
                return None
            required.append(rng.choice(having))
    for word in s.force_words:
        if not any(_has_word(x, word) for x in required):
            having = [x for x in topic.sentences if _has_word(x, word) and _ok_sentence(x, Shape(exclude=s.exclude))]
            if not having:
                return None
            required.append(rng.choice(having))
    rest = [x for x in pool if x not in required]
    if s.max_words is not None:
        rest.sort(key=count_words)
    elif s.min_words is not None:
        rest.sort(key=count_words, reverse=True)

    if s.layout == "bullets":
        counts = [s.n_layout]
    elif s.n_sentences is not None:
        counts = [s.n_sentences - _fixed_sentences(s)]
    else:
        low = max(1, len(required), s.n_layout if s.layout == "paragraphs" else 1,
                  len([k for k in s.json_keys if k not in ("title", "topic")]))
        preferred = max(low, rng.randint(2, 4))
        counts = [preferred] + list(range(preferred + 1, len(required) + len(rest) + 1)) + list(range(preferred - 1, low - 1, -1))
    for k in counts:
        if k < max(1, len(required)) or k > len(required) + len(rest):
            continue
        if s.layout == "paragraphs" and k + (1 if s.arith else 0) < s.n_layout:
            continue
        chosen = required + rest[: k - len(required)]
        chosen = [x for x in topic.sentences if x in chosen] + [x for x in chosen if x not in topic.sentences]
        if style == "clumsy":
            chosen = [_swap_words(rng, x) if rng.random() < 0.5 else x for x in chosen]
        text = _render(s, chosen, topic, rng)
        words = count_words(text)
        if s.max_words is not None and words >= s.max_words:
            continue
        if s.min_words is not None and words < s.min_words:
            continue
        return text
    return None
