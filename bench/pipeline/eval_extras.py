"""What an evaluation stage adds to its metrics for the report: per-prompt samples (the sample browser) read back
from the evaluators' own output files, and training curves (a benchmark metric of each saved checkpoint)."""
from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Callable

log = logging.getLogger("bench.run")
SAMPLES_PER_BENCHMARK = 16


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _gold(folder: Path) -> list[dict]:
    path = folder / "gold" / "answers.jsonl"
    if not path.exists():
        return []
    out = []
    for row in _jsonl(path)[:SAMPLES_PER_BENCHMARK]:
        verdict = row.get("verdict") or {}
        failed = verdict.get("failed") or []
        out.append({"benchmark": "gold", "prompt_id": str(row["id"]), "prompt": row["prompt"], "output": row["answer"],
                    "rating": verdict.get("strict"),
                    "rationale": ("exact verifier, failed: " + "; ".join(failed)) if failed else "exact verifier: every instruction followed"})
    return out


def _question(user_prompt: str) -> str:
    """The question inside FastChat's single-answer judge prompt."""
    start = user_prompt.find("[Question]\n")
    end = user_prompt.find("\n\n[The Start of Assistant's Answer]")
    return user_prompt[start + len("[Question]\n") : end].strip() if start >= 0 and end > start else ""


def _mt_bench(folder: Path) -> list[dict]:
    answers_path = folder / "mt_bench" / "model_answer" / "model.jsonl"
    judgments = sorted((folder / "mt_bench" / "model_judgment").glob("*.jsonl")) if answers_path.exists() else []
    if not judgments:
        return []
    answers = {str(a["question_id"]): a["choices"][0]["turns"] for a in _jsonl(answers_path)}
    out = []
    for j in _jsonl(judgments[0])[:SAMPLES_PER_BENCHMARK]:
        turn = int(j.get("turn", 1))
        turns = answers.get(str(j["question_id"]), [])
        score = float(j["score"]) if j.get("score") not in (None, "", -1, "-1") else None
        out.append({"benchmark": "mt_bench", "prompt_id": f"{j['question_id']}-t{turn}", "prompt": _question(j.get("user_prompt", "")),
                    "output": turns[turn - 1] if len(turns) >= turn else "", "rating": score,
                    "rationale": j.get("judgment", ""), "judge": " / ".join(map(str, j.get("judge", [])))})
    return out


def _alpaca_eval(folder: Path) -> list[dict]:
    path = folder / "alpaca_eval" / "annotations.json"
    if not path.exists():
        return []
    out = []
    for i, a in enumerate(json.loads(path.read_text(encoding="utf-8"))[:SAMPLES_PER_BENCHMARK]):
        preference = a.get("preference")
        rating = float(preference) - 1.0 if isinstance(preference, (int, float)) and math.isfinite(preference) else None
        # rating 1.0: the model's output won; 0.5: a tie (identical outputs)
        out.append({"benchmark": "alpaca_eval", "prompt_id": str(i), "prompt": a.get("instruction", ""), "output": a.get("output_2", ""),
                    "rating": rating, "rationale": f"judge preferred {'the model' if rating == 1.0 else 'neither (a tie)' if rating == 0.5 else 'the reference'}"
                    f" (raw completion {a.get('preference_raw_completion')!r})" if rating is not None else "no judgement"})
    return out


def collect_samples(eval_dir: Path) -> list[dict]:
    """Every evaluator's per-prompt outputs with the rating and the judge's rationale, where it wrote them."""
    samples = []
    for reader in (_gold, _mt_bench, _alpaca_eval):
        try:
            samples += reader(eval_dir)
        except (OSError, ValueError, KeyError, TypeError) as err:  # a malformed file loses its samples, not the stage
            log.warning("samples from %s not collected: %s", eval_dir, err)
    return samples


def checkpoint_curves(checkpoints: Path, final_step: int, final_metrics: list[dict], curve: dict,
                      evaluate: Callable[[str, list[str]], list]) -> list[dict]:
    """``curve`` = {benchmark, metric, limit}: that metric for each saved checkpoint, plus the final model's value
    from ``final_metrics`` when it was measured on the same items (same limit)."""
    benchmark, metric = curve["benchmark"], curve["metric"]
    points = []
    for folder in sorted(checkpoints.glob("step-*")):
        rows = evaluate(str(folder), [benchmark])
        value = next((r.value for r in rows if r.benchmark == benchmark and r.metric == metric), None)
        if value is None:  # unmeasured: the curve has a gap there (the evaluator logged why)
            continue
        points.append({"name": f"{benchmark}/{metric}", "step": int(folder.name.split("-")[1]), "value": value})
    final = next((m for m in final_metrics if m["benchmark"] == benchmark and m["metric"] == metric), None)
    if final is not None and final["value"] is not None and final_step is not None and points:
        points.append({"name": f"{benchmark}/{metric}", "step": final_step, "value": final["value"]})
    return points
