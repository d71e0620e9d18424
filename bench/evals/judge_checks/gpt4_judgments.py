"""`bench judge-check`'s GPT-4 reference from GPT-4's judgment of every answer (FastChat's ``gpt-4_single.jsonl``).

The published scores (``gpt4_published_scores.csv``) are GPT-4's means over both turns of all 80 questions, while a
check grades turn 1 of a subset: the two do not describe the same answers. FastChat's judgment file
(``fastchat/llm_judge/data/mt_bench/model_judgment/gpt-4_single.jsonl``: one record per answer and turn, with
``question_id``, ``model``, ``judge``, ``score`` and ``turn``) holds GPT-4's score of every answer, so with it the
reference is GPT-4's mean over exactly the questions and the turn the judge graded, and the question bootstrap
resamples both sides. It is also how models other than the 25 published ones are checked: ``--answers DIR`` holds
their answers, ``--gpt4-judgments FILE`` GPT-4's judgments of them.

A score of -1 is FastChat's mark for a judgment without a rating: left out, as FastChat's show_result leaves it out.
An answer judged more than once counts with the mean of its scores (show_result's mean over records, per answer).
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from bench.evals.mt_bench import iter_jsonl

JUDGMENTS_FILE = Path("model_judgment") / "gpt-4_single.jsonl"  # under the MT-Bench folder, as FastChat lays it out
NO_RATING = -1


def judged_scores(path: Path, turn: int = 1) -> tuple[dict[str, dict], str]:
    """model -> {question_id: the judge's score of its ``turn`` answer} (-1s left out, repeated judgments averaged),
    and the judge the records name (FastChat: ``["gpt-4", "single-v1"]``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: --gpt4-judgments takes FastChat's gpt-4_single.jsonl")
    scores: dict = defaultdict(lambda: defaultdict(list))
    judges = set()
    for line, row in iter_jsonl(path, ("question_id", "model", "score", "turn")):
        score = row["score"]
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not (
                score == NO_RATING or 1 <= score <= 10):
            raise ValueError(f"{path}: line {line}: field score: {score!r} is not a rating 1-10 (or -1: none)")
        if row["turn"] not in (1, 2):
            raise ValueError(f"{path}: line {line}: field turn: {row['turn']!r} is not 1 or 2")
        judge = row.get("judge")
        judges.add(str(judge[0]) if isinstance(judge, list) and judge else str(judge))
        if row["turn"] == turn and score != NO_RATING:
            scores[str(row["model"])][row["question_id"]].append(float(score))
    if len(judges) > 1:
        raise ValueError(f"{path}: field judge: judgments by more than one judge ({', '.join(sorted(judges))}); "
                         "the reference is one judge's")
    if not scores:
        raise ValueError(f"{path}: no rated turn-{turn} judgment")
    return {m: {q: float(np.mean(v)) for q, v in by_q.items()} for m, by_q in scores.items()}, judges.pop()

