"""Whether a judge-based metric's judge is validated, and what its footnote says about it.

A column whose numbers come from an LLM judge (MT-Bench, AlpacaEval) is only as good as the judge. The judge counts
as *validated* only when `bench judge-check` measured, at full size, both
- its agreement with GPT-4 on MT-Bench (all 25 models, at least 24 questions): Spearman at least 0.6 with the lower
  bound of its 95% interval above 0.2, and
- its agreement with human preferences (at least 400 Anthropic HH pairs): pairwise accuracy whose 95% interval lies
  above chance (0.5).
That is issue 20's acceptance bar for a default judge. "Lower bound above 0" alone is too weak: a judge measured
at full size just above it ranked the model GPT-4 rates lowest first of 25 (docs/judges.md).
Otherwise (a smaller check, a reference not measured, or below the bar) it is *not validated*: the report shows the
column greyed, never bold, never marked significant (bench.report.table consults ``column_status`` /
``strip_unvalidated`` in one place). The published reference judges themselves (GPT-4 for MT-Bench, GPT-4 Turbo for
AlpacaEval 2, through an OpenAI-compatible endpoint) are the reference, so they need no check.

A metric whose details carry no LLM judge (a verifier, a harness, a reward model) is not judge-based: no status.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from .agreement import _interval, _value, same_scoring_judge

JUDGED_BENCHMARKS = ("mt_bench", "alpaca_eval")
# The judges whose verdicts define the published numbers: model name behind an OpenAI-compatible endpoint.
REFERENCE_JUDGES = {"mt_bench": ("gpt-4",), "alpaca_eval": ("gpt-4-1106-preview", "gpt-4-turbo")}
NOT_VALIDATED = "not validated"
# The check size: a bootstrap over a handful of questions gives intervals that mean little (a resample of 3
# questions repeats one most of the time), so a smaller check, however good it looks, validates nothing.
MIN_MODELS, MIN_QUESTIONS, MIN_HH_PAIRS = 25, 24, 400
MIN_SPEARMAN, MIN_SPEARMAN_LOWER = 0.6, 0.2  # the point estimate at least, the interval's lower bound above
HH_CHANCE = 0.5


def _mt_bench_too_small(block: dict) -> bool:
    """An MT-Bench agreement block (a check's ``mt_bench`` or its summary's ``mt_bench_gpt4``) below full size."""
    return (block.get("n_models") or 0) < MIN_MODELS or (block.get("n_questions") or 0) < MIN_QUESTIONS


@dataclass(frozen=True)
class JudgeStatus:
    validated: bool
    text: str  # for the footnote: why (validated by what, or not validated because)


def _judge_id(judge) -> str | None:
    if isinstance(judge, dict):
        return judge.get("id") or judge.get("name")
    return str(judge) if judge else None


def judge_status(benchmark: str, judge) -> JudgeStatus | None:
    """The status of ``judge`` (a result's ``details["judge"]``: a describe() dict or an id) for ``benchmark``;
    None for a benchmark that no LLM judge scores."""
    if benchmark not in JUDGED_BENCHMARKS:
        return None
    judge_id = _judge_id(judge)
    if not judge_id:
        return JudgeStatus(False, f"{NOT_VALIDATED}: the result names no judge")
    settings = (judge.get("settings") or {}) if isinstance(judge, dict) else {}
    model = settings.get("model") or (judge_id[len("openai:"):].split("@", 1)[0] if judge_id.startswith("openai:") else None)
    if judge_id.startswith("openai:") and model in REFERENCE_JUDGES.get(benchmark, ()):
        return JudgeStatus(True, f"{model} is the benchmark's published reference judge")
    agreement = judge.get("agreement") if isinstance(judge, dict) else None
    mt = (agreement or {}).get("mt_bench_gpt4") if isinstance(agreement, dict) else None
    ci = (mt or {}).get("spearman_ci95")
    if not mt or not ci:
        return JudgeStatus(False, f"{NOT_VALIDATED}: {judge_id}'s agreement with GPT-4 was never measured "
                                  "(bench judge-check)")
    size = f"n={mt.get('n_models')} models x {mt.get('n_questions')} questions"
    spearman = f"Spearman vs GPT-4 {_value(mt.get('spearman'))} {_interval(ci)}"
    if _mt_bench_too_small(mt):
        return JudgeStatus(False, f"{NOT_VALIDATED}: {judge_id}'s {spearman} was measured on {size}, fewer than the "
                                  f"{MIN_MODELS} models x {MIN_QUESTIONS} questions a validation needs")
    if (mt.get("spearman") or 0) < MIN_SPEARMAN or ci[0] <= MIN_SPEARMAN_LOWER:
        return JudgeStatus(False, f"{NOT_VALIDATED}: {judge_id}'s {spearman} ({size}); a validated judge needs at "
                                  f"least {MIN_SPEARMAN} with the lower bound above {MIN_SPEARMAN_LOWER}")
    hh = (agreement or {}).get("hh") or {}
    hh_ci = hh.get("pairwise_accuracy_ci95")
    if not hh_ci or (hh.get("n_pairs") or 0) < MIN_HH_PAIRS:
        return JudgeStatus(False, f"{NOT_VALIDATED}: {judge_id}'s {spearman} ({size}), but its agreement with human "
                                  f"preferences was not measured on at least {MIN_HH_PAIRS} HH pairs")
    accuracy = f"HH pairwise accuracy {_value(hh.get('pairwise_accuracy'))} {_interval(hh_ci)} (n={hh.get('n_pairs')} pairs)"
    if hh_ci[0] <= HH_CHANCE:
        return JudgeStatus(False, f"{NOT_VALIDATED}: {judge_id}'s {accuracy} is not above chance ({HH_CHANCE}), "
                                  f"though its {spearman} ({size})")
    return JudgeStatus(True, f"validated: {spearman} ({size}); {accuracy}")


def check_shortfall(result: dict) -> list[str]:
    """How a ``bench judge-check`` result file measured a reference at less than a full check's size (empty: every
    reference it holds is full size): the sizes ``judge_status`` requires before it calls a judge validated. A check
    with a shortfall is a screening. A reference not measured at all is no shortfall: the file simply lacks it, and
    ``judge_status`` says so."""
    out = []
    mt, hh = result.get("mt_bench"), result.get("hh")
    if mt:
        if _mt_bench_too_small(mt):
            out.append(f"MT-Bench on {mt.get('n_models')} models x {mt.get('n_questions')} questions (a validation "
                       f"needs {MIN_MODELS} x {MIN_QUESTIONS})")
        if mt.get("answer_tokens"):
            out.append(f"MT-Bench answers cut at {mt['answer_tokens']} tokens")
    if hh:
        sampled = (hh.get("n_pairs") or 0) + (hh.get("n_failed") or 0)  # a pair the judge failed on was still asked
        if sampled < MIN_HH_PAIRS:
            out.append(f"{sampled} HH pairs sampled (a validation needs {MIN_HH_PAIRS})")
    return out


def _checked(judge) -> str | None:
    """The timestamp (``measured``, ISO) of the agreement check a judge dict carries, if it is dated."""
    agreement = judge.get("agreement") if isinstance(judge, dict) else None
    if isinstance(agreement, dict) and agreement.get("measured"):
        return str(agreement["measured"])
    return None


def _same_checked_judge(a, b) -> bool:
    return bool(_checked(a) and _checked(b) and same_scoring_judge(a, b))


def latest_checks(judges: Iterable) -> list:
    """``judges`` (results' ``details["judge"]``) with, per judge (id and identity settings), only the one that carries
    the latest dated agreement check: rows evaluated before and after a judge was checked again hold two checks of the
    same judge, and the later replaced the earlier. Undated checks are all kept."""
    out: list = []
    for judge in judges:
        twin = next((k for k, kept in enumerate(out) if _same_checked_judge(kept, judge)), None)
        if twin is None:
            out.append(judge)
        elif _checked(judge) > _checked(out[twin]):
            out[twin] = judge
    return out


def column_status(benchmark: str, judges: Iterable) -> JudgeStatus | None:
    """One status for a column whose rows were judged by ``judges``: validated only if every judge is, each judged by
    its latest check."""
    statuses = [s for s in (judge_status(benchmark, j) for j in latest_checks(judges)) if s is not None]
    if not statuses:
        return judge_status(benchmark, None)
    failing = [s for s in statuses if not s.validated]
    return failing[0] if failing else statuses[0]


def strip_unvalidated(blocks, columns) -> None:
    """No bold and no significance marks in a column whose judge is not validated (a judge that does not rank
    models as GPT-4 does cannot say which method is better)."""
    for index, column in enumerate(columns):
        if getattr(column, "judge_validated", None) is False:
            for block in blocks:
                for row in block.rows:
                    row.cells[index].best = False
                    row.cells[index].marks = []
