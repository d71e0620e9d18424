"""The exact verifier: which constraints a response satisfies, strictly and loosely, as IFEval scores them.

lm-eval's IFEval checkers are reused where their semantics match ours. Our own checks cover what IFEval does
not have (start phrase, exact sentence and blank-line paragraph counts, arithmetic, JSON keys) and the two case
checks: IFEval's also run langdetect, which is probabilistic and misreads short all-capital English.
Sentences are counted here because IFEval's sentence splitter needs nltk punkt data, which is not available offline.

Loose scoring follows IFEval: a constraint counts as followed if any of eight variants of the response
follows it (the response as is, without its first line, without its last line, without both; and each of
those with every ``*`` removed).
"""
from __future__ import annotations

import contextlib
import io
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable

from .catalogue import KINDS, Constraint


@dataclass(frozen=True)
class ConstraintCheck:
    constraint: Constraint
    strict: bool
    loose: bool


@dataclass(frozen=True)
class Verdict:
    strict: float  # fraction of constraints satisfied, strict
    loose: float  # fraction satisfied under IFEval's loose variants
    failed: list[str]  # labels of the constraints failed (strict)
    failed_loose: list[str]
    checks: tuple[ConstraintCheck, ...]

    @property
    def all_strict(self) -> bool:
        return all(c.strict for c in self.checks)

    @property
    def all_loose(self) -> bool:
        return all(c.loose for c in self.checks)

    def to_dict(self) -> dict:
        return {"strict": self.strict, "loose": self.loose, "failed": self.failed, "failed_loose": self.failed_loose,
                "checks": [{"kind": c.constraint.kind, "args": c.constraint.args, "strict": c.strict, "loose": c.loose}
                           for c in self.checks]}


# --- counting helpers (shared with the composer so that answers are built to the same rules) -------------

_WORD = re.compile(r"\w+")
# A sentence ends at . ! or ? followed by whitespace (closing quotes/brackets allowed in between), or at a line break.
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\s*\n\s*")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")


def count_words(text: str) -> int:
    """Words as IFEval counts them (runs of word characters)."""
    return len(_WORD.findall(text))


def count_sentences(text: str) -> int:
    return sum(1 for part in _SENTENCE_BREAK.split(text.strip()) if re.search(r"[A-Za-z0-9]", part))


def count_paragraphs(text: str) -> int:
    return sum(1 for part in _PARAGRAPH_BREAK.split(text.strip()) if part.strip())


def _strip_json_fence(text: str) -> str:
    # the same fence removal as IFEval's JsonFormat
    return (text.strip().removeprefix("```json").removeprefix("```Json").removeprefix("```JSON")
            .removeprefix("```").removesuffix("```").strip())


# --- the checks ------------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _ifeval():
    """lm-eval's IFEval instructions module, imported without its attempt to download nltk punkt data.

    The import calls ``nltk.download("punkt_tab")`` when the data is missing; offline that is a network
    attempt (and an error message) for data that only the sentence-splitting checkers need, which we do not use.
    """
    import nltk

    real_download = nltk.download
    nltk.download = lambda *args, **kwargs: False
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # it also prints that it downloaded
            from lm_eval.tasks.ifeval import instructions
    finally:
        nltk.download = real_download
    return instructions


@lru_cache(maxsize=4096)
def _ifeval_checker(kind: str, frozen_args: tuple):
    ife = _ifeval()
    args = dict(frozen_args)
    table = {
        "max_words": (ife.NumberOfWords, {"num_words": args.get("n"), "relation": "less than"}),
        "min_words": (ife.NumberOfWords, {"num_words": args.get("n"), "relation": "at least"}),
        "bullets": (ife.BulletListChecker, {"num_bullets": args.get("n")}),
        "keywords": (ife.KeywordChecker, {"keywords": list(args.get("words", ()))}),
        "forbidden_word": (ife.ForbiddenWords, {"forbidden_words": [args.get("word")]}),
        "end_with": (ife.EndChecker, {"end_phrase": args.get("phrase")}),
        "quotes": (ife.QuotationChecker, {}),
        "no_comma": (ife.CommaChecker, {}),
        "title": (ife.TitleChecker, {}),
        "postscript": (ife.PostscriptChecker, {"postscript_marker": "P.S."}),
        "json_keys": (ife.JsonFormat, {}),
    }
    cls, kwargs = table[kind]
    checker = cls(kind)
    checker.build_description(**kwargs)
    return checker


def _freeze(args: dict) -> tuple:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in args.items()))


def _number_present(text: str, number: int) -> bool:
    return re.search(rf"(?<![\d.,]){re.escape(str(number))}(?![\d]|[.,]\d)", text) is not None


def _check_own(kind: str, args: dict, text: str) -> bool:
    if kind == "lowercase":
        return text.islower()
    if kind == "uppercase":
        return text.isupper()
    if kind == "start_with":
        return text.strip().lstrip('"').lower().startswith(args["phrase"].strip().lower())
    if kind == "num_sentences":
        return count_sentences(text) == args["n"]
    if kind == "num_paragraphs":
        return count_paragraphs(text) == args["n"]
    if kind == "arithmetic":
        return _number_present(text, args["result"])
    raise KeyError(kind)


def check(constraint: Constraint, text: str) -> bool:
    """Strict check of one constraint on one response."""
    kind, args = constraint.kind, constraint.args
    if kind not in KINDS:
        raise ValueError(f"unknown constraint kind {kind!r}")
    if kind in ("lowercase", "uppercase", "start_with", "num_sentences", "num_paragraphs", "arithmetic"):
        return _check_own(kind, args, text)
    if not text.strip():
        return False
    followed = bool(_ifeval_checker(kind, _freeze(args)).check_following(text))
    if kind == "json_keys" and followed:
        value: Any = json.loads(_strip_json_fence(text))
        followed = isinstance(value, dict) and all(key in value for key in args["keys"])
    return followed


def loose_variants(text: str) -> list[str]:
    lines = text.split("\n")
    base = [text, "\n".join(lines[1:]).strip(), "\n".join(lines[:-1]).strip(), "\n".join(lines[1:-1]).strip()]
    return [v for v in base + [v.replace("*", "") for v in base] if v.strip()]


def verify_constraints(constraints: Iterable[Constraint], response: str) -> Verdict:
    constraints = tuple(constraints)
    if not constraints:
        raise ValueError("nothing to verify: the prompt item has no constraints")
    variants = loose_variants(response)
    checks = []
    for c in constraints:
        strict = check(c, response)
        loose = strict or any(check(c, v) for v in variants)
        checks.append(ConstraintCheck(c, strict, loose))
    n = len(checks)
    return Verdict(
        strict=sum(c.strict for c in checks) / n, loose=sum(c.loose for c in checks) / n,
        failed=[c.constraint.label() for c in checks if not c.strict],
        failed_loose=[c.constraint.label() for c in checks if not c.loose], checks=tuple(checks),
    )
