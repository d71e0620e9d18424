"""The comparison table and its Markdown / CSV / LaTeX views, from a hand-made results JSON."""
from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd
import pytest

from bench.report.csv import render_csv
from bench.report.latex import render_latex
from bench.report.markdown import render_markdown
from bench.results import ResultsError, parse_results
from bench.report.table import build_table
from report_helpers import ADPA_SEEDS, copy_doc

ROWS = ["Teacher (reference): smollm2-135m", "Teacher (DPO): smollm2-135m", "SFT", "DPO", "DCKD", "ADPA", "ADPA+"]


def _table(doc=None):
    return build_table(parse_results(doc or copy_doc(), "hand-made.json"))


def markdown_cells(text: str) -> tuple[list[str], dict[str, dict[str, str]]]:
    """Header and {method label: {column header: cell}} of the first Markdown table in ``text``."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    split = [[c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]] for line in lines]
    header, body = split[0], split[2:]
    return header, {row[1]: dict(zip(header, row)) for row in body}


def column(header: list[str], label: str) -> str:
    """The header cell of the column labelled ``label`` (headers are the label and its note number)."""
    (name,) = [h for h in header if re.fullmatch(re.escape(label) + r"\[\d+\]", h)]
    return name


def notes_of(text: str) -> dict[str, str]:
    return dict(re.findall(r"^\[(\d+)\] (.*?)\s*$", text, flags=re.M))


def test_rows_grouped_per_student_with_teachers_first_and_sweeps_left_out():
    table = _table()
    assert [b.student for b in table.blocks] == ["smollm2-8l"]
    assert [r.label for r in table.blocks[0].rows] == ROWS
    assert table.blocks[0].rows[5].seeds == [1, 2, 3]  # the figure-5 runs (seed 7) are not ADPA seeds
    assert table.blocks[0].rows[4].seeds == [42]


def test_markdown_headers_cells_dashes_and_mean_std():
    text = render_markdown(_table())
    header, rows = markdown_cells(text)
    mt_avg, wr = column(header, "MT-Bench"), column(header, "AlpacaEval WR")
    # headers are labels; what the number is (data, judge) is in the column's note, never a machine path
    notes = notes_of(text)
    mt_note = notes[mt_avg.split("[")[1].rstrip("]")]
    assert "data: MT-Bench" in mt_note and "judge: qwen2.5-1.5b-instruct-q4" in mt_note and "n = 10 items" in mt_note
    assert not any("/" in h and "runs/" in h for h in header)
    # mean ± sample std over the three ADPA seeds, against numpy; results without item scores have no interval
    values = np.array(list(ADPA_SEEDS.values()))
    expected = f"{values.mean():.2f} ± {values.std(ddof=1):.2f}"
    assert expected == "6.58 ± 0.63"
    assert rows["ADPA"][mt_avg] == expected  # no bold: without per-item scores no paired test can say it is better
    assert rows["Teacher (DPO): smollm2-135m"][mt_avg] == "9.50"
    assert rows["ADPA"]["Seeds"] == "3" and rows["SFT"]["Seeds"] == "1"  # Seeds counts seeds
    # not measured: a dash with a footnote, never 0
    reason = next(n for n, t in notes.items() if t == "judge server unavailable")
    assert rows["SFT"][wr] == f"–[{reason}]"
    assert "**" not in text
    assert "Not evaluated in these results: AlpacaEval LC" in text
    # metrics outside the headline columns are left to the CSV and the HTML
    assert "Verifier prompt loose" not in text and "rm_heldout" not in text and "ARC-C" not in text
    assert "6 other metric(s) are in the CSV and the HTML report." in text


def test_csv_raw_numbers_empty_missing_and_reason_column():
    frame = pd.read_csv(io.StringIO(render_csv(build_table(parse_results(copy_doc(), "doc"), "all"))),
                        keep_default_na=False)
    by_method = frame.set_index("method")
    values = np.array(list(ADPA_SEEDS.values()))
    assert float(by_method.loc["adpa", "MT-Bench"]) == pytest.approx(values.mean(), abs=1e-12)
    assert float(by_method.loc["adpa", "MT-Bench std"]) == pytest.approx(values.std(ddof=1), abs=1e-12)
    assert by_method.loc["sft", "MT-Bench std"] == ""  # one seed: no std
    assert by_method.loc["sft", "AlpacaEval WR"] == ""  # missing: empty, not 0
    assert by_method.loc["sft", "missing"] == "AlpacaEval WR: judge server unavailable"
    assert by_method.loc["dpo", "missing"] == ""
    assert list(frame["method"]) == ["ref_teacher", "dpo_teacher", "sft", "dpo", "dckd", "adpa", "adpa_plus"]
    assert float(by_method.loc["dpo", "Verifier prompt loose"]) == pytest.approx(0.4)
    assert float(by_method.loc["dpo", "Reward model held-out acc."]) == 0.8
    assert "model" not in frame.columns  # no machine paths in tables


def test_latex_cells():
    tex = render_latex(_table())
    adpa = next(line for line in tex.splitlines() if line.startswith(" & ADPA &"))
    cells = [c.strip() for c in adpa.removesuffix(r"\\").split("&")]
    assert cells[2] == "3" and cells[3] == r"6.58 $\pm$ 0.63"
    sft = next(line for line in tex.splitlines() if line.startswith(" & SFT &"))
    reason = next(n for n, t in notes_of(render_markdown(_table())).items() if t == "judge server unavailable")
    assert rf"& --\textsuperscript{{{reason}}} &" in sft
    assert rf"\textsuperscript{{{reason}}}~judge server unavailable\\" in tex
    assert tex.count(r"\begin{tabular}") == 1 and tex.rstrip().endswith(r"\end{table}")


def test_partially_measured_seeds_and_not_evaluated_metric():
    doc = copy_doc()
    adpa_seed2 = next(e for e in doc["entries"] if e["method"] == "adpa" and e["seed"] == 2)
    average = next(m for m in adpa_seed2["metrics"] if m["metric"] == "average" and m["benchmark"] == "mt_bench")
    average.update(value=None, missing_reason="judge timed out")
    dpo = next(e for e in doc["entries"] if e["method"] == "dpo")
    dpo["metrics"] = [m for m in dpo["metrics"] if m["benchmark"] != "gold"]
    header, rows = markdown_cells(text := render_markdown(_table(doc)))
    mean = np.mean([ADPA_SEEDS[1], ADPA_SEEDS[3]])
    std = np.std([ADPA_SEEDS[1], ADPA_SEEDS[3]], ddof=1)
    notes = notes_of(text)
    partial = next(n for n, t in notes.items() if t == "1 of 3 seeds not measured (judge timed out); the value is over the other 2")
    assert rows["ADPA"][column(header, "MT-Bench")] == f"{mean:.2f} ± {std:.2f}[{partial}]"
    absent = next(n for n, t in notes.items() if t == "not evaluated for this model")
    assert rows["DPO"][column(header, "Verifier prompt")] == f"–[{absent}]"


def test_sweep_runs_without_study_mark_are_refused():
    doc = copy_doc()
    for e in doc["entries"]:
        e.pop("study", None)
    with pytest.raises(ResultsError, match=r"method 'dckd'\) mixes hyperparameter settings \(alpha differ.*figure5"):
        _table(doc)


def test_teacher_block_without_link_and_two_students():
    doc = copy_doc()
    extra = []
    for e in doc["entries"]:
        e.pop("teacher", None)  # one teacher in the results: it goes into every block
        if e["student"] == "smollm2-8l" and e["method"] == "sft":
            extra.append({**e, "student": "other-student"})
    doc["entries"] += extra
    table = _table(doc)
    assert [b.student for b in table.blocks] == ["smollm2-8l", "other-student"]
    assert [r.method for r in table.blocks[1].rows] == ["ref_teacher", "dpo_teacher", "sft"]


def test_markdown_escapes_names():
    doc = copy_doc()
    for e in doc["entries"]:
        if e["student"] == "smollm2-8l":
            e["student"] = "a|b*c_"
    text = render_markdown(_table(doc))
    assert r"| a\|b\*c\_ |" in text


def test_other_metrics_table_and_lower_is_better():
    doc = copy_doc()
    nll = {"sft": 2.0, "dpo": 1.5, "dckd": 1.7, "ref_teacher": 1.0}
    for e in doc["entries"]:
        if e["method"] in nll:
            e["metrics"].append({"benchmark": "heldout", "metric": "chosen_nll", "value": nll[e["method"]], "higher_is_better": False})
    other = build_table(parse_results(doc, "doc"), "other")
    labels = [c.label for c in other.columns]
    assert labels == ["MT-Bench turn 1", "MT-Bench turn 2", "Reward acc. (implicit)", "ARC-C", "Verifier prompt loose",
                      "Reward model held-out acc.", "Held-out chosen NLL"]
    assert not other.columns[-1].higher_is_better
    header, rows = markdown_cells(render_markdown(other))
    col = column(header, "Held-out chosen NLL")
    assert rows["DPO"][col] == "1.50" and rows["SFT"][col] == "2.00"
    assert rows["ADPA"][col].startswith("–[")  # adpa has no held-out metric


def test_evaluator_remarks_become_footnotes():
    doc = copy_doc()
    sft = next(e for e in doc["entries"] if e["method"] == "sft")
    sft["metrics"].append({"benchmark": "open_llm", "metric": "average", "value": 0.3,
                           "details": {"complete": False, "over": ["arc_challenge"], "missing": ["hellaswag"],
                                       "harness": "lm-evaluation-harness"}})
    next(m for m in sft["metrics"] if m["metric"] == "arc_challenge")["details"]["note"] = "few-shot from a local file"
    text = render_markdown(_table(doc))
    header, rows = markdown_cells(text)
    notes = {t: n for n, t in notes_of(text).items()}
    average = notes["average over arc_challenge only (hellaswag not measured)"]
    assert rows["SFT"][column(header, "Open LLM avg")] == f"0.300[{average}]"
    other = render_markdown(build_table(parse_results(doc, "doc"), "other"))
    header, rows = markdown_cells(other)
    assert rows["SFT"][column(header, "ARC-C")] == f"0.300[{ {t: n for n, t in notes_of(other).items()}['few-shot from a local file'] }]"


def test_teacher_rows_filed_under_the_student_as_bench_run_writes_them():
    doc = copy_doc()
    for e in doc["entries"]:
        if e["method"] in ("ref_teacher", "dpo_teacher"):
            e["student"] = "smollm2-8l"
        elif e["method"] in ("sft", "dpo"):
            e["teacher"] = None  # bench run links only the methods that use the teacher
    table = _table(doc)
    assert len(table.blocks) == 1
    assert [r.label for r in table.blocks[0].rows] == ROWS
