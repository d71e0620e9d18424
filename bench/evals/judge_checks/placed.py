"""`bench judge-check --place MODELS`: models whose answers are at hand but that have no GPT-4 score, each judged
on the MT-Bench check's questions exactly as that check's models were, and placed among them.

A placement is not an agreement: with no reference it says only where this judge puts a model, for instance whether
it ranks a base model (the data's llama-13b) below the tuned chat models, or where a student's answers would land
among the published models. Each placed model is ranked among the check's models alone (of n + 1), never against
the other placed models; their order by the judge's mean is listed beside.
"""
from __future__ import annotations

from pathlib import Path

from . import mt_bench as mt
from .placement import check_questions, place


def parse_models(text: str, mt_block: dict | None) -> list[str]:
    """``--place``'s comma-separated models, in order, once each; a model of the check itself is refused (it has its
    GPT-4 reference there, and would be placed among models that include itself)."""
    models = list(dict.fromkeys(m.strip() for m in text.split(",") if m.strip()))
    if not models:
        raise ValueError(f"--place {text!r}: name at least one model (comma-separated)")
    inside = [m for m in models if mt_block and m in mt_block.get("model_means", {})]
    if inside:
        raise ValueError(f"--place: {', '.join(inside)} already in the MT-Bench check, with its GPT-4 reference")
    return models


def build_jobs(folder: Path, mt_block: dict, models: list[str], answers_dir: Path | None) -> list[dict]:
    """The MT-Bench check's jobs for ``models`` (their answer files in ``answers_dir``, default the data's), on the
    questions ``mt_block`` graded."""
    chosen, _ = check_questions(folder, mt_block)
    jobs, _ = mt.build_jobs(folder, len(chosen), models, questions=chosen, answers_dir=answers_dir)
    return jobs


def placements(models: list[str], jobs: list[dict], ratings: list, mt_block: dict,
               published_lengths: dict[str, float]) -> dict:
    placed = {m: place(m, jobs, ratings, mt_block, published_lengths) for m in models}
    return {"models": placed, "order_by_judge": sorted(models, key=lambda m: -placed[m]["mean"])}
