"""The constraint catalogue: kinds, how each is phrased in a prompt, and which kinds never go together.

A constraint is plain data (kind, args, the instruction text shown to the model) so that it can be written
to JSONL, read back and verified anywhere. Checking lives in verify.py; shaping answers in compose.py.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Callable

KINDS: tuple[str, ...] = (
    "lowercase", "uppercase", "max_words", "min_words", "bullets", "keywords", "forbidden_word",
    "start_with", "end_with", "num_sentences", "num_paragraphs", "arithmetic", "json_keys", "quotes",
    "no_comma", "title", "postscript",
)

# Kinds that cannot both be satisfied by one natural answer, or only in a contrived way (made symmetric below).
_CONFLICTS_ONE_WAY: dict[str, set[str]] = {
    "lowercase": {"uppercase"},
    "uppercase": {"json_keys"},  # upper-casing the answer would upper-case the required keys
    "max_words": {"min_words", "num_paragraphs"},
    "min_words": {"num_sentences", "bullets", "json_keys"},
    "bullets": {"num_paragraphs", "num_sentences", "json_keys", "quotes"},
    "start_with": {"title", "json_keys"},
    "end_with": {"postscript", "json_keys"},
    "num_sentences": {"num_paragraphs", "title", "postscript", "json_keys"},
    "num_paragraphs": {"title", "postscript", "json_keys", "quotes"},
    "json_keys": {"no_comma", "quotes", "title", "postscript"},  # JSON with several keys needs commas
    "quotes": {"title", "postscript"},
}


def _symmetric(one_way: dict[str, set[str]]) -> dict[str, frozenset[str]]:
    table: dict[str, set[str]] = {kind: {kind} for kind in KINDS}
    for kind, others in one_way.items():
        for other in others:
            table[kind].add(other)
            table[other].add(kind)
    return {kind: frozenset(others) for kind, others in table.items()}


CONFLICTS: dict[str, frozenset[str]] = _symmetric(_CONFLICTS_ONE_WAY)


def compatible(kind: str, chosen: list[str] | tuple[str, ...]) -> bool:
    return all(kind not in CONFLICTS[other] for other in chosen)


@dataclass(frozen=True)
class Constraint:
    kind: str
    args: dict[str, Any] = field(default_factory=dict)
    text: str = ""  # the instruction as the prompt states it

    def to_dict(self) -> dict:
        return {"kind": self.kind, "args": dict(self.args), "text": self.text}

    @classmethod
    def from_dict(cls, data: dict, where: str = "<constraint>") -> "Constraint":
        if not isinstance(data, dict) or "kind" not in data:
            raise ValueError(f"{where}: expected an object with a 'kind' field, got {data!r}")
        if data["kind"] not in KINDS:
            raise ValueError(f"{where}: field 'kind': unknown constraint kind {data['kind']!r}; known: {', '.join(KINDS)}")
        return cls(data["kind"], dict(data.get("args") or {}), data.get("text", ""))

    def label(self) -> str:
        """Short, readable name with its arguments, e.g. ``bullets(n=3)``."""
        if not self.args:
            return self.kind
        shown = ", ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in self.args.items())
        return f"{self.kind}({shown})"


# Phrases that chosen answers may contain whatever the topic; keywords and forbidden words avoid them.
START_PHRASES = ("Here is my advice:", "Here is what I would suggest:", "Happy to help with this:",
                 "Let me explain:", "Good question:", "Here is the short version:")
END_PHRASES = ("Is there anything else I can help with?", "Let me know if you have any other questions.",
               "I hope this helps.", "Good luck!", "Enjoy the process.", "That is all there is to it.")
POSTSCRIPTS = ("P.S. Small steps add up over time.", "P.S. Feel free to ask a follow-up question.",
               "P.S. Be patient with yourself while you learn.", "P.S. A little practice goes a long way.")
JSON_KEY_SETS = (("title", "advice"), ("summary", "tips"), ("answer", "reason"), ("topic", "summary", "next_step"))
ARITH_OPS = {"+": "plus", "-": "minus", "x": "times"}
ARITH_SENTENCES = ("Quick answer to your sum: {a} {op} {b} equals {result}.",
                   "First the arithmetic: {a} {op} {b} is {result}.",
                   "As for the sum you asked about: {a} {op} {b} makes {result}.")


def arith_result(a: int, op: str, b: int) -> int:
    return {"+": a + b, "-": a - b, "x": a * b}[op]


def _phrasing(rng: random.Random, options: tuple[str, ...], **values) -> str:
    return rng.choice(options).format(**values)


def _quoted_list(words: list[str]) -> str:
    quoted = [f'"{w}"' for w in words]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _keyword_values(args: dict) -> dict:
    return {"plural": "words" if len(args["words"]) > 1 else "word", "words": _quoted_list(args["words"])}


# kind -> (phrasings, the values they are formatted with); one phrasing is drawn per instruction.
PHRASINGS: dict[str, tuple[tuple[str, ...], Callable[[dict], dict]]] = {
    "lowercase": (("Write your whole answer in lowercase letters only, with no capital letters at all.",
                   "Use only lowercase letters in your response; no capitals anywhere.",
                   "Please reply entirely in lowercase."), lambda a: {}),
    "uppercase": (("Write your entire answer in capital letters.", "Your whole response must be in uppercase letters.",
                   "Please reply in ALL CAPS, every letter uppercase."), lambda a: {}),
    "max_words": (("Keep the answer under {n} words.", "Use fewer than {n} words in total.", "Be brief: less than {n} words."),
                  lambda a: {"n": a["n"]}),
    "min_words": (("Write at least {n} words.", "Your answer should be {n} words or longer.",
                   "Give a detailed answer of at least {n} words."), lambda a: {"n": a["n"]}),
    "bullets": (("Give exactly {n} bullet points using markdown, like:\n* first point\n* second point",
                 "Answer with exactly {n} markdown bullet points (lines starting with *).",
                 "Format the answer as a list of exactly {n} bullet points that start with *."), lambda a: {"n": a["n"]}),
    "keywords": (("Make sure to mention the {plural} {words}.", "Include the {plural} {words} in your answer.",
                  "Your reply must contain the {plural} {words}."), _keyword_values),
    "forbidden_word": (('Do not use the word "{w}" anywhere in your reply.', 'Avoid the word "{w}" completely.',
                        'Never use the word "{w}".'), lambda a: {"w": a["word"]}),
    "start_with": (('Begin your reply with "{p}"', 'Start your answer with the exact phrase "{p}"',
                    'The first words of your response must be "{p}"'), lambda a: {"p": a["phrase"]}),
    "end_with": (('Finish your response with the exact phrase "{p}" and nothing after it.', 'End your answer with "{p}"',
                  'The last words of your reply must be "{p}"'), lambda a: {"p": a["phrase"]}),
    "num_sentences": (("Answer in exactly {n} sentences.", "Your response must be exactly {n} sentences long.",
                       "Use exactly {n} sentences, no more and no fewer."), lambda a: {"n": a["n"]}),
    "num_paragraphs": (("Write exactly {n} paragraphs separated by a blank line.",
                        "Split your answer into exactly {n} paragraphs, with an empty line between them."),
                       lambda a: {"n": a["n"]}),
    "arithmetic": (("Also work out {a} {op} {b} and include the result as a number in your answer.",
                    "Somewhere in your reply, tell me what {a} {op} {b} is, written in digits.",
                    "Before you finish, answer this sum with the number: what is {a} {op} {b}?"),
                   lambda a: {"a": a["a"], "op": ARITH_OPS[a["op"]], "b": a["b"]}),
    "json_keys": (("Format the whole answer as a JSON object with the keys {keys}.",
                   "Reply only with valid JSON: an object that has the keys {keys}.",
                   "Give your answer as JSON with the keys {keys}."), lambda a: {"keys": _quoted_list(a["keys"])}),
    "quotes": (("Wrap your entire response in double quotation marks.", "Put your whole answer inside double quotes.",
                'Enclose the entire reply in double quotes, like "this".'), lambda a: {}),
    "no_comma": (("Do not use any commas in your response.", "Write without a single comma.",
                  "Your answer must not contain commas."), lambda a: {}),
    "title": (("Give your answer a title wrapped in double angular brackets, such as <<my title>>.",
               "Start with a title in double angle brackets, like <<title>>."), lambda a: {}),
    "postscript": (("At the end of your response, add a postscript starting with P.S.",
                    "Finish with a short postscript that begins with P.S."), lambda a: {}),
}


def describe(kind: str, args: dict, rng: random.Random) -> str:
    """The instruction sentence for a constraint, in one of a few natural phrasings."""
    if kind not in PHRASINGS:
        raise ValueError(f"unknown constraint kind {kind!r}")
    options, values = PHRASINGS[kind]
    return _phrasing(rng, options, **values(args))
