"""Reading a verdict out of a judge's text, the way FastChat's llm_judge does for MT-Bench.

FastChat's own patterns are used when ``fastchat.llm_judge.common`` imports (it needs the ``anthropic``
package); otherwise the same two patterns, copied as data: ``[[x]]`` first, then ``[x]``.
"""
from __future__ import annotations

import ast
import re

try:  # pragma: no cover - depends on optional packages of fschat
    from fastchat.llm_judge.common import one_score_pattern, one_score_pattern_backup

    PATTERN_SOURCE = "fastchat.llm_judge.common"
except Exception:  # noqa: BLE001 - fastchat.llm_judge.common imports anthropic/openai at module level
    one_score_pattern = re.compile(r"\[\[(\d+\.?\d*)\]\]")
    one_score_pattern_backup = re.compile(r"\[(\d+\.?\d*)\]")
    PATTERN_SOURCE = "bench (FastChat's patterns)"


def parse_single_rating(judgment: str | None) -> float | None:
    """FastChat's run_judge_single parsing; None where FastChat records -1 (no rating found)."""
    if not judgment:
        return None
    match = re.search(one_score_pattern, judgment) or re.search(one_score_pattern_backup, judgment)
    if not match:
        return None
    try:
        return float(ast.literal_eval(match.groups()[0]))
    except (ValueError, SyntaxError):
        return None


# For a small local judge that seldom writes the verdict format by itself: a one-sentence explanation
# (it ends at the first full stop), then "[[N]]" with N in 1..10, so FastChat's parsing above reads it
# unchanged. Bounded repetitions ({1,n}) make llama.cpp's grammar sampler several times slower, hence the
# sentence end as the bound.
RATING_GRAMMAR = r'''root ::= "Explanation: " reason ". Rating: [[" rating "]]"
reason ::= [^\[\]\n.]+
rating ::= "10" | [1-9]
'''
