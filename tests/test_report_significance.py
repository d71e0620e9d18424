"""What the table says about uncertainty: intervals in cells, paired marks against SFT and DPO, bold only for a
significant best, detectable differences, comparisons stored in the results, and a toy method's row."""
from __future__ import annotations

import json

import numpy as np
import pytest

from bench import stats
from bench.report.markdown import render_markdown
from bench.report.table import build_table
from bench.results import parse_results, results_to_dict

IDS = [f"p{i:03d}" for i in range(200)]


def verifier(passes: set[int], seed: int = 42) -> dict:
    scores = [1.0 if i in passes else 0.0 for i in range(200)]
    return {"benchmark": "gold", "metric": "prompt_level_strict_acc", "value": sum(scores) / 200, "n_items": 200,
            "details": {"judge": "gold (exact verifier)"}, "items": {"kind": "binary", "ids": IDS, "scores": scores},
            "interval": stats.wilson(int(sum(scores)), 200).to_dict()}


def entry(method: str, passes: set[int], seed: int = 42) -> dict:
    return {"student": "s", "method": method, "seed": seed, "model": f"m/{method}", "metrics": [verifier(passes, seed)]}


def document(rows: dict[str, set[int]]) -> dict:
    return {"schema": "adpa-bench/results/v2", "profile": "test", "entries": [entry(m, p) for m, p in rows.items()]}


def cells(text: str) -> dict[str, str]:
    """method label -> the (one) metric cell of each table row."""
    lines = [line for line in text.splitlines() if line.startswith("|")][2:]
    return {parts[2].strip(): parts[4].strip() for parts in (line.split("|") for line in lines)}


BASE = set(range(60))  # SFT passes 60 of 200


def test_cells_carry_intervals_and_paired_marks():
    rows = {"sft": BASE, "dpo": BASE | set(range(60, 64)),  # 4 more: not distinguishable from SFT
            "dckd": BASE - set(range(0, 30)),  # 30 fewer: significantly worse than both
            "adpa": BASE | set(range(100, 150))}  # 50 more: significantly better than both
    text = render_markdown(build_table(parse_results(document(rows), "doc")))
    row = cells(text)
    low, high = stats.wilson(110, 200).low, stats.wilson(110, 200).high
    assert row["ADPA"].startswith(f"**0.550 [{low:.3f}, {high:.3f}]**")  # bold: significantly above the runner-up
    assert row["ADPA"].endswith("▲S ▲D")
    assert row["DCKD"].endswith("▼S ▼D") and "**" not in row["DCKD"]
    assert row["DPO"] == f"0.320 [{stats.wilson(64, 200).low:.3f}, {stats.wilson(64, 200).high:.3f}]"  # no mark
    assert row["SFT"].startswith("0.300 [") and "▲" not in row["SFT"] and "▼" not in row["SFT"]
    assert "Smallest difference this run can detect between two students" in text and "(n = 200)" in text


def test_no_bold_when_the_best_is_not_significantly_better_than_the_runner_up():
    rows = {"sft": BASE, "dpo": BASE | {60, 61}, "adpa": BASE | {60, 61, 62}}
    row = cells(render_markdown(build_table(parse_results(document(rows), "doc"))))
    assert not any("**" in c or "▲" in c or "▼" in c for c in row.values())


def test_several_seeds_pool_their_items_and_pair_seed_by_seed():
    doc = {"schema": "adpa-bench/results/v2", "profile": "test", "entries": [
        entry("sft", BASE, 1), entry("sft", BASE, 2),
        entry("adpa", BASE | set(range(100, 140)), 1), entry("adpa", BASE | set(range(100, 130)), 2)]}
    table = build_table(parse_results(doc, "doc"))
    adpa = next(r for r in table.blocks[0].rows if r.method == "adpa")
    cell = adpa.cells[0]
    pooled = stats.wilson(100 + 90, 400)
    assert (cell.interval.low, cell.interval.high) == pytest.approx((pooled.low, pooled.high))
    assert "pooled over 2 seeds" in cell.interval.method and cell.std == pytest.approx(np.std([0.5, 0.45], ddof=1))
    assert cell.marks == ["▲S"]


def test_comparisons_are_stored_in_the_results():
    rows = {"sft": BASE, "dpo": BASE | set(range(60, 64)), "adpa": BASE | set(range(100, 150))}
    saved = json.loads(json.dumps(results_to_dict(parse_results(document(rows), "doc"))))
    by = {(c["method"], c["baseline"]): c for c in saved["comparisons"]}
    assert set(by) == {("dpo", "sft"), ("adpa", "sft"), ("adpa", "dpo"), ("sft", "dpo")}
    assert by[("adpa", "sft")]["significant"] and by[("adpa", "sft")]["difference"] == pytest.approx(0.25)
    assert by[("adpa", "sft")]["n"] == 200 and "50 won, 0 lost" in by[("adpa", "sft")]["test"]
    assert not by[("dpo", "sft")]["significant"]


def test_a_registered_toy_method_gets_its_row_without_touching_the_report(monkeypatch):
    from methods.base import Method
    from methods.registry import METHODS

    class Toy(Method):
        name, label, description, data = "toy", "Toy distillation", "a test method", "preference"

    monkeypatch.setitem(METHODS, "toy", Toy())
    rows = {"sft": BASE, "toy": BASE | set(range(100, 150))}
    text = render_markdown(build_table(parse_results(document(rows), "doc")))
    assert cells(text)["Toy distillation"].endswith("▲S")
    # order: registry order, the new method last
    assert list(cells(text)) == ["SFT", "Toy distillation"]


def test_students_scored_identically_do_not_claim_a_zero_detectable_difference():
    """A judge that gives every model the same verdicts leaves no spread of paired differences: the run could not
    detect a difference of 0 (it was reported as 0.000); the estimate falls back to the items' own spread."""
    rows = {"sft": BASE, "dpo": BASE, "adpa": BASE}
    text = render_markdown(build_table(parse_results(document(rows), "doc")))
    line = next(x for x in text.splitlines() if x.startswith("Smallest difference"))
    p = 60 / 200
    expected = (1.959963984540054 + 0.8416212335729143) * np.sqrt(p * (1 - p) * 600 / 599) * np.sqrt(2) / np.sqrt(200)
    assert f"Verifier prompt {expected:.3f} (n = 200; the students were scored identically on every item" in line, line
