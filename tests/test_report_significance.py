"""What the table says about uncertainty: intervals in cells, paired marks against SFT and DPO, bold only for a
significant best, detectable differences, comparisons stored in the results, and a toy method's row."""
from __future__ import annotations

import json

import numpy as np
import pytest

from bench import stats
from bench.report.csv import render_csv
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


def test_several_seeds_average_each_item_first_and_test_over_items():
    """Three seeds are not three times the evidence: each item is averaged over the row's seeds, the interval and the
    test are over the 200 items; the seeds' spread is the ± and the CSV's seed values."""
    doc = {"schema": "adpa-bench/results/v2", "profile": "test", "entries": [
        entry("sft", BASE, 1), entry("sft", BASE, 2),
        entry("adpa", BASE | set(range(100, 140)), 1), entry("adpa", BASE | set(range(100, 130)), 2)]}
    table = build_table(parse_results(doc, "doc"))
    adpa = next(r for r in table.blocks[0].rows if r.method == "adpa")
    cell = adpa.cells[0]
    averaged = [1.0] * 90 + [0.5] * 10 + [0.0] * 100  # items 0-59 and 100-129 both seeds, 130-139 one of two
    expected = stats.bootstrap_mean(averaged)
    assert (cell.interval.low, cell.interval.high) == pytest.approx((expected.low, expected.high))
    assert "items averaged over 2 seeds" in cell.interval.method and "200 items" in cell.interval.method
    assert cell.std == pytest.approx(np.std([0.5, 0.45], ddof=1)) and cell.values == pytest.approx([0.5, 0.45])
    assert cell.marks == ["▲S"]
    saved = json.loads(json.dumps(results_to_dict(parse_results(doc, "doc"))))["comparisons"]
    assert len(saved) == 1 and saved[0]["n"] == 200 and "sign-flip" in saved[0]["test"]
    assert saved[0]["seed_differences"] == pytest.approx({"1": 0.2, "2": 0.15})
    assert any("averaged over a row's seeds first" in note for note in table.notes)
    csv_text = render_csv(table)
    assert "Verifier prompt seed values" in csv_text.splitlines()[0] and "0.5;0.45" in csv_text


def test_comparisons_are_stored_in_the_results():
    rows = {"sft": BASE, "dpo": BASE | set(range(60, 64)), "adpa": BASE | set(range(100, 150))}
    saved = json.loads(json.dumps(results_to_dict(parse_results(document(rows), "doc"))))
    by = {(c["method"], c["baseline"]): c for c in saved["comparisons"]}
    # SFT against DPO is the same test as DPO against SFT: stored once; ADPA is also the best (vs DPO, already there)
    assert set(by) == {("dpo", "sft"), ("adpa", "sft"), ("adpa", "dpo")}
    assert by[("adpa", "sft")]["significant"] and by[("adpa", "sft")]["difference"] == pytest.approx(0.25)
    assert by[("adpa", "sft")]["n"] == 200 and "50 won, 0 lost" in by[("adpa", "sft")]["test"]
    assert not by[("dpo", "sft")]["significant"]
    # raw and Holm-adjusted p over the column's 3 comparisons
    raw = [by[k]["p_value"] for k in sorted(by)]
    assert [by[k]["p_holm"] for k in sorted(by)] == pytest.approx(stats.holm(raw))
    assert by[("dpo", "sft")]["p_value"] == pytest.approx(0.125) and "3 comparisons" in by[("dpo", "sft")]["family"]


def test_holm_removes_a_mark_that_only_the_uncorrected_test_gives():
    """ADPA wins 10 items and loses 2 against SFT: McNemar p = 0.039 < 0.05 alone, but the column holds 5 comparisons
    (the others far from significant), so Holm's adjusted p is above 0.05: no mark, no bold; the CSV keeps both p."""
    adpa = (BASE - {0, 1}) | set(range(100, 110))
    rows = {"sft": BASE, "dpo": BASE | {60}, "dckd": BASE | {61}, "adpa": adpa}
    table = build_table(parse_results(document(rows), "doc"))
    from scipy.stats import binomtest

    cell = next(r for r in table.blocks[0].rows if r.method == "adpa").cells[0]
    raw, adjusted = cell.tests["S"]
    assert raw == pytest.approx(binomtest(10, 12).pvalue) and raw < 0.05 < adjusted
    assert cell.marks == [] and not cell.best
    header = render_csv(table).splitlines()[0]
    assert "Verifier prompt p vs S" in header and "Verifier prompt p_holm vs S" in header
    text = render_markdown(table)
    assert "Holm's step-down correction" in text and "family: the 5 comparisons of one column" in text


def test_too_few_items_is_a_note_never_a_mark():
    def tiny(method, passes):
        scores = [1.0 if i in passes else 0.0 for i in range(4)]
        return {"student": "s", "method": method, "seed": 42, "model": f"m/{method}", "metrics": [
            {"benchmark": "gold", "metric": "prompt_level_strict_acc", "value": sum(scores) / 4, "n_items": 4,
             "details": {}, "items": {"kind": "binary", "ids": IDS[:4], "scores": scores}}]}

    doc = {"schema": "adpa-bench/results/v2", "profile": "test", "entries": [tiny("sft", set()), tiny("adpa", {0, 1, 2, 3})]}
    text = render_markdown(build_table(parse_results(doc, "doc")))
    row = cells(text)
    assert "▲" not in row["ADPA"] and "**" not in row["ADPA"] and "too few paired items" in text


def test_the_detectable_difference_is_computed_within_each_block():
    """Two students: one whose methods differ on many items, one on few; each block gets its own number."""
    def block(student, rows):
        return [dict(entry(m, p), student=student) for m, p in rows.items()]

    noisy = {"sft": BASE, "dpo": set(range(30, 90)), "adpa": set(range(60, 120))}
    quiet = {"sft": BASE, "dpo": BASE | {60, 61}, "adpa": BASE | {62, 63, 64}}
    doc = {"schema": "adpa-bench/results/v2", "profile": "test", "entries": block("big", noisy) + block("small", quiet)}
    line = next(x for x in render_markdown(build_table(parse_results(doc, "doc"))).splitlines()
                if x.startswith("Smallest difference"))

    def expected(rows):
        sds = sorted(np.std([rows[a].__contains__(i) - rows[b].__contains__(i) for i in range(200)], ddof=1)
                     for a in rows for b in ("sft", "dpo") if a != b)
        return stats.detectable_difference(float(np.median(sds)), 200)

    assert f"big: {expected(noisy):.3f} (n = 200)" in line and f"small: {expected(quiet):.3f} (n = 200)" in line


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
    expected = stats.detectable_difference(np.sqrt(p * (1 - p) * 600 / 599) * np.sqrt(2), 200)
    assert f"Verifier prompt {expected:.3f} (n = 200; the students were scored identically on every item" in line, line


def _judged(method: str, passes: set[int], judge) -> dict:
    row = entry(method, passes)
    row["metrics"][0]["details"] = {"judge": judge}
    return row


QWEN = {"id": "local-qwen0.5b", "settings": {"model": "qwen", "rating_mode": "expected", "protocol": "expected/v1",
                                               "prompt_id": "fastchat-single-v1"}}
QWEN_NOEXAMPLE = {"id": "local-qwen0.5b:noexample", "settings": {**QWEN["settings"], "rating_mode": "noexample",
                                                                 "protocol": "noexample/v1", "prompt_id": "bench-single-noexample-v1"}}


@pytest.mark.parametrize("adpa_judge, compared", [
    (QWEN, True),
    ({**QWEN, "settings": {**QWEN["settings"], "threads": 8, "timeout_s": 60}}, True),  # how it ran, not what it rates
    (QWEN_NOEXAMPLE, False),  # another protocol: the difference would be the judges'
    ({**QWEN, "settings": {**QWEN["settings"], "prompt_id": "bench-single-noexample-v1"}}, False),
    # the same label in the footnote, but other weights: still two judges, and the footnote says so
    ({**QWEN, "settings": {**QWEN["settings"], "model_sha256": "another-gguf"}}, False),
    ({"id": "reward:/elsewhere/reward_models/632c78"}, False),
])
def test_rows_scored_by_different_judges_are_never_compared(adpa_judge, compared):
    doc = {"schema": "adpa-bench/results/v2", "profile": "test",
           "entries": [_judged("sft", BASE, QWEN), _judged("dpo", BASE, QWEN), _judged("adpa", BASE | set(range(100, 150)), adpa_judge)]}
    results = parse_results(doc, "doc")
    text = render_markdown(build_table(results))
    row = cells(text)
    assert row["ADPA"].endswith("▲S ▲D") is compared and row["ADPA"].startswith("**") is compared
    stored = [c for c in results_to_dict(results)["comparisons"] if "adpa" in (c["method"], c["baseline"])]
    assert (len(stored) > 0) is compared
    assert ("2 judges: a row is compared (▲/▼, bold) only with rows scored by the same judge" in text) is not compared


def test_a_reward_model_is_the_same_judge_wherever_its_cache_folder_lies():
    here, there = {"id": "reward:/root/.cache/adpa-bench/reward_models/632c78"}, {"id": "reward:/work/cold/reward_models/632c78"}
    doc = {"schema": "adpa-bench/results/v2", "profile": "test",
           "entries": [_judged("sft", BASE, here), _judged("dpo", BASE, here), _judged("adpa", BASE | set(range(100, 150)), there)]}
    assert cells(render_markdown(build_table(parse_results(doc, "doc"))))["ADPA"].endswith("▲S ▲D")
