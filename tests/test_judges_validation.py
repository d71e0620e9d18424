"""A judge-based column tells the truth about its judge: a judge is validated only at issue 20's bar (Spearman vs
GPT-4 at least 0.6 with a 95% lower bound above 0.2 over 25 models x 24 questions, and HH pairwise accuracy above
chance over at least 400 pairs); any other judge is "not validated": the column is greyed in every view, never bold,
never marked."""
from __future__ import annotations

import csv
import io

import pytest

from bench import stats
from bench.judges.validation import column_status, judge_status
from bench.report.csv import render_csv
from bench.report.latex import render_latex
from bench.report.markdown import render_markdown
from bench.report.table import build_table
from bench.results import parse_results

IDS = [f"q{i:03d}" for i in range(200)]


def agreement(low: float, high: float, value: float = 0.3, hh: tuple | None = (0.62, 0.57, 0.67, 400)) -> dict:
    out = {"text": f"vs GPT-4 on MT-Bench: Spearman {value} [{low}, {high}]",
           "mt_bench_gpt4": {"n_models": 25, "n_questions": 24, "spearman": value, "spearman_ci95": [low, high]}}
    if hh:
        out["hh"] = {"pairwise_accuracy": hh[0], "pairwise_accuracy_ci95": [hh[1], hh[2]], "n_pairs": hh[3]}
    return out


UNVALIDATED = {"id": "local-qwen0.5b:explain", "settings": {"rating_mode": "explain", "protocol": "explain/v1",
                                                            "prompt_id": "bench-single-noexample-v1"},
               "agreement": agreement(-0.35, 0.08, -0.18)}
VALIDATED = {"id": "local-qwen0.5b:explain", "settings": {"rating_mode": "explain"}, "agreement": agreement(0.25, 0.9, 0.7)}


@pytest.mark.parametrize("benchmark, judge, validated, says", [
    ("mt_bench", UNVALIDATED, False, "[-0.35, 0.08]"),
    ("mt_bench", VALIDATED, True, "[0.25, 0.90]"),
    ("mt_bench", {"id": "j", "agreement": agreement(0.0, 0.6)}, False, "lower bound above 0.2"),  # at 0: not validated
    # above 0, as measured for local-qwen0.5b:noexample, is not enough; nor is a good interval around a weak estimate
    ("mt_bench", {"id": "j", "agreement": agreement(0.01, 0.49, 0.33)}, False, "needs at least 0.6"),
    ("mt_bench", {"id": "j", "agreement": agreement(0.2, 0.9, 0.7)}, False, "lower bound above 0.2"),
    ("mt_bench", {"id": "j", "agreement": agreement(0.3, 0.8, 0.59)}, False, "needs at least 0.6"),
    ("mt_bench", {"id": "j", "agreement": agreement(0.21, 0.8, 0.6)}, True, "HH pairwise accuracy 0.62 [0.57, 0.67]"),
    # human preferences: measured on enough pairs, and above chance
    ("mt_bench", {"id": "j", "agreement": agreement(0.25, 0.9, 0.7, hh=None)}, False, "not measured on at least 400"),
    ("mt_bench", {"id": "j", "agreement": agreement(0.25, 0.9, 0.7, hh=(0.7, 0.6, 0.8, 399))}, False, "400 HH pairs"),
    ("mt_bench", {"id": "j", "agreement": agreement(0.25, 0.9, 0.7, hh=(0.55, 0.5, 0.6, 400))}, False, "not above chance"),
    ("mt_bench", {"id": "j", "agreement": agreement(0.25, 0.9, 0.7, hh=(0.3, 0.25, 0.35, 400))}, False, "not above chance"),
    ("mt_bench", {"id": "local-smollm2", "settings": {}}, False, "never measured"),
    ("mt_bench", "local-smollm2", False, "never measured"),
    ("alpaca_eval", {"id": "local-smollm2:pairwise"}, False, "never measured"),
    # a screening subset validates nothing, however good it looks
    ("mt_bench", {"id": "j", "agreement": {"mt_bench_gpt4": {"n_models": 8, "n_questions": 3, "spearman": 0.5,
                                                             "spearman_ci95": [0.29, 0.74]}}}, False, "fewer than the 25 models x 24"),
    ("mt_bench", {"id": "j", "agreement": {"mt_bench_gpt4": {"n_models": 25, "n_questions": 23, "spearman": 0.9,
                                                             "spearman_ci95": [0.5, 0.95]}}}, False, "fewer than"),
    ("mt_bench", {"id": "openai:gpt-4@https://api.openai.com/v1", "settings": {"model": "gpt-4"}}, True, "reference judge"),
    # GPT-4 is MT-Bench's reference judge, not AlpacaEval 2's: there it needs a check like any other
    ("alpaca_eval", {"id": "openai:gpt-4@https://api.openai.com/v1", "settings": {"model": "gpt-4"}}, False, "never measured"),
    ("alpaca_eval", {"id": "openai:gpt-4-1106-preview@https://api.openai.com/v1"}, True, "reference judge"),
])
def test_judge_status(benchmark, judge, validated, says):
    status = judge_status(benchmark, judge)
    assert status.validated is validated and says in status.text


def test_columns_without_an_llm_judge_have_no_status():
    assert judge_status("gold", "gold (exact verifier)") is None and judge_status("reward", {"id": "reward:x"}) is None
    assert column_status("open_llm", [None]) is None
    # one unvalidated judge among the rows makes the column unvalidated
    assert column_status("mt_bench", [VALIDATED, UNVALIDATED]).validated is False
    assert column_status("mt_bench", [VALIDATED, VALIDATED]).validated is True


def _document(judge: dict) -> dict:
    def metric(passes: set[int]) -> dict:
        scores = [1.0 if i in passes else 0.0 for i in range(200)]
        return {"benchmark": "mt_bench", "metric": "average", "value": sum(scores) / 200, "n_items": 200,
                "details": {"judge": judge}, "items": {"kind": "binary", "ids": IDS, "scores": scores},
                "interval": stats.wilson(int(sum(scores)), 200).to_dict()}

    base = set(range(60))
    rows = {"sft": base, "dpo": base | {60, 61}, "adpa": base | set(range(100, 150))}  # ADPA: clearly the best
    return {"schema": "adpa-bench/results/v2", "profile": "test",
            "entries": [{"student": "s", "method": m, "seed": 42, "model": f"m/{m}", "metrics": [metric(p)]}
                        for m, p in rows.items()]}


def _adpa_cell(markdown: str) -> str:
    line = next(line for line in markdown.splitlines() if line.startswith("|") and "| ADPA |" in line)
    return line.split("|")[4].strip()


def test_a_validated_judge_keeps_bold_and_marks():
    table = build_table(parse_results(_document(VALIDATED), "doc"))
    assert table.columns[0].judge_validated is True
    cell = _adpa_cell(render_markdown(table))
    assert cell.startswith("**") and cell.endswith("▲S ▲D") and "gray" not in cell


def test_an_unvalidated_judge_is_greyed_never_bold_never_marked_in_every_view():
    table = build_table(parse_results(_document(UNVALIDATED), "doc"))
    column = table.columns[0]
    assert column.judge_validated is False
    assert not any(c.best or c.marks for b in table.blocks for r in b.rows for c in r.cells)
    md = render_markdown(table)
    cell = _adpa_cell(md)
    assert "**" not in cell and "▲" not in cell and cell.startswith('<span style="color:gray">0.550')
    assert "MT-Bench (judge not validated)" in md
    note = table.footnotes[column.footnote - 1]
    assert "not validated" in note and "[-0.35, 0.08]" in note and "no bold, no significance marks" in note
    assert "judge: local-qwen0.5b:explain (protocol explain/v1, prompt bench-single-noexample-v1)" in note
    tex_row = next(line for line in render_latex(table).splitlines() if "& ADPA &" in line)
    assert r"\textcolor{gray}{0.550" in tex_row and r"\textbf" not in tex_row and "blacktriangle" not in tex_row
    rows = list(csv.DictReader(io.StringIO(render_csv(build_table(parse_results(_document(UNVALIDATED), "doc"), "all")))))
    adpa = next(r for r in rows if r["method"] == "adpa")
    assert adpa["MT-Bench judge_validated"] == "false" and adpa["MT-Bench marks"] == ""


def test_html_greys_the_column(tmp_path):
    from bench.report.html import render_html

    html = render_html(parse_results(_document(UNVALIDATED), "doc"), [], title="t")
    assert 'class="num unvalidated"' in html and "(judge not validated)" in html and "<strong>" not in html.split("<table")[1]


def test_a_footnote_quotes_the_latest_check_of_each_judge_once():
    # rows evaluated before and after a judge was checked again carry two checks of the same judge: quote the latest
    old = {**UNVALIDATED, "agreement": {**agreement(-0.35, 0.08, -0.18), "judge": "local-qwen0.5b:explain",
                                        "protocol": "explain/v1", "measured": "2026-12-01T10:00:00+00:00"}}
    new = {**UNVALIDATED, "agreement": {**agreement(0.01, 0.49, 0.33), "judge": "local-qwen0.5b:explain",
                                        "protocol": "explain/v1", "measured": "2026-12-03T10:00:00+00:00"}}
    doc = _document(old)
    for entry in doc["entries"][1:]:
        entry["metrics"][0]["details"] = {"judge": new}
    table = build_table(parse_results(doc, "doc"))
    note = table.footnotes[table.columns[0].footnote - 1]
    assert note.count("judge agreement:") == 1 and "[0.01, 0.49]" in note and "[-0.35, 0.08]" not in note
    doc["entries"].reverse()  # the order of the rows does not decide which check is quoted
    note = build_table(parse_results(doc, "doc")).footnotes[0]
    assert note.count("judge agreement:") == 1 and "[0.01, 0.49]" in note


def test_a_check_names_each_way_it_falls_short_of_full_size():
    from bench.judges.validation import check_shortfall

    full = {"mt_bench": {"n_models": 25, "n_questions": 24, "answer_tokens": None}, "hh": {"n_pairs": 399, "n_failed": 1}}
    assert check_shortfall(full) == []  # 400 pairs asked, one failed: full size (the failure is reported on its own)
    assert check_shortfall({**full, "hh": {"n_pairs": 399, "n_failed": 0}}) == ["399 HH pairs sampled (a validation needs 400)"]
    assert check_shortfall({"mt_bench": {**full["mt_bench"], "n_questions": 8, "answer_tokens": 300}}) == [
        "MT-Bench on 25 models x 8 questions (a validation needs 25 x 24)", "MT-Bench answers cut at 300 tokens"]
    assert check_shortfall({"verifier": {}}) == []  # a reference not measured is missing, not small
