"""The gold judge: the exact verifier as a (score, rationale) judgement that other evaluators can wrap."""
from __future__ import annotations

from typing import Any

from .catalogue import Constraint
from .verify import Verdict, verify_constraints

GOLD_JUDGE_ID = "gold (exact verifier)"


def _constraints_of(item: Any) -> tuple[Constraint, ...]:
    """Constraints from a PromptItem, a Turn, a dict written by to_dict(), or a list of Constraint / dicts."""
    if hasattr(item, "constraints"):
        raw = item.constraints
    elif isinstance(item, dict) and "constraints" in item:
        raw = item["constraints"]
    elif isinstance(item, (list, tuple)):
        raw = item
    else:
        raise TypeError(f"cannot read constraints from {type(item).__name__}; pass a PromptItem, Turn, its dict or a list")
    where = getattr(item, "id", None) or (item.get("id") if isinstance(item, dict) else None) or "<item>"
    return tuple(c if isinstance(c, Constraint) else Constraint.from_dict(c, f"{where}: constraints[{i}]")
                 for i, c in enumerate(raw))


def verify(item: Any, response: str) -> Verdict:
    """Which of the item's constraints ``response`` satisfies: strict and loose fractions, and which failed."""
    if not isinstance(response, str):
        raise TypeError(f"response must be a string, got {type(response).__name__}")
    return verify_constraints(_constraints_of(item), response)


def gold_judgement(item: Any, response: str, loose: bool = False) -> tuple[float, str]:
    """(fraction of constraints satisfied, rationale listing each constraint as passed or failed)."""
    verdict = verify(item, response)
    lines = []
    for check in verdict.checks:
        ok = check.loose if loose else check.strict
        note = "" if check.strict == check.loose else (" (passes only loosely)" if check.loose else "")
        lines.append(f"{'PASS' if ok else 'FAIL'} {check.constraint.label()}{note}")
    score = verdict.loose if loose else verdict.strict
    passed = sum((c.loose if loose else c.strict) for c in verdict.checks)
    header = f"{passed}/{len(verdict.checks)} constraints satisfied ({'loose' if loose else 'strict'})"
    return score, header + "\n" + "\n".join(lines)
