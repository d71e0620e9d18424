"""`bench report`: files written, figures drawn from the right data, clear errors, perf section."""
from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET

import matplotlib.image
import numpy as np
import pytest

from bench.cli import main
from bench.report.plots import curve_series, sweep_series
from bench.results import parse_results
from report_helpers import copy_doc, write


def _png(data: bytes) -> np.ndarray:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return matplotlib.image.imread(io.BytesIO(data), format="png")


def test_report_writes_every_view_and_figure(tmp_path, capsys):
    run_dir = write(tmp_path / "runs" / "a" / "results.json", copy_doc()).parent
    out = tmp_path / "reports"
    assert main(["report", str(run_dir), "--out", str(out), "--name", "table2"]) == 0
    names = {p.name for p in out.iterdir()}
    assert names == {"table2.md", "table2.csv", "table2.tex", "table2.html", "table2.results.json",
                     "figure5.png", "figure5.svg", "curves.png", "curves.svg"}
    for name in ("figure5", "curves"):
        image = _png((out / f"{name}.png").read_bytes())
        assert image.shape[0] > 200 and image.shape[1] > 200 and image.std() > 0.01  # drawn, not blank
        assert ET.parse(out / f"{name}.svg").getroot().tag.endswith("svg")
    svg_text = "".join(ET.parse(out / "figure5.svg").getroot().itertext())
    for label in ("alpha", "gamma", "reward score", "reward accuracy", "smollm2-8l"):
        assert label in svg_text
    assert len(json.loads((out / "table2.results.json").read_text())["entries"]) == len(copy_doc()["entries"])
    assert "rendered 15 entries" in capsys.readouterr().out
    html = (out / "table2.html").read_text()
    assert html.count('src="data:image/png;base64,') == 2 and "http://" not in html and "https://" not in html
    assert 'id="other"' in html and "Verifier prompt loose" in html  # metrics outside the headline table
    assert "mt_bench_v1" in html and "arc@sha256:1234" in html  # data versions in the metadata


def test_rerender_is_identical_except_the_timestamp(tmp_path):
    source = write(tmp_path / "r.json", copy_doc())
    assert main(["report", str(source), "--out", str(tmp_path / "one")]) == 0
    assert main(["report", str(source), "--out", str(tmp_path / "two")]) == 0
    for name in ("table2.md", "table2.csv", "table2.tex", "figure5.png", "figure5.svg", "curves.svg"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name


def test_figure5_series_mix_main_and_sweep_entries():
    doc = copy_doc()
    # one sweep point with per-item scores: its error bar is the metric's own 95% interval
    point = next(e for e in doc["entries"] if e.get("hyperparameters") == {"alpha": 0.1})
    score = next(m for m in point["metrics"] if m["metric"] == "score")
    score.update(items={"kind": "continuous", "ids": ["a", "b", "c", "d"], "scores": [0.0, 0.1, 0.1, 0.2]},
                 interval={"low": 0.02, "high": 0.18, "method": "test"})
    results = parse_results(doc, "doc")
    dckd = sweep_series(results, "dckd", "alpha", "reward", "score")["smollm2-8l"]
    # alpha 0.5: the main-table DCKD run (0.25) and the sweep run (0.25); without item scores no interval
    assert [(x, round(m, 6), lo, hi, n) for x, m, lo, hi, n in dckd] == [
        (0.1, 0.1, 0.02, 0.18, 1), (0.5, 0.25, None, None, 2), (0.9, 0.2, None, None, 1)]
    adpa = {x: (m, n) for x, m, _, _, n in sweep_series(results, "adpa", "gamma", "reward", "score")["smollm2-8l"]}
    at_16 = [0.31, 0.32, 0.33, 0.3]  # three main-table seeds and the sweep run
    assert adpa[1.6] == pytest.approx((np.mean(at_16), 4))
    assert sorted(adpa) == [0.4, 1.6, 3.2]
    curves = curve_series(results)["reward_score"]
    assert [p[0] for p in curves["smollm2-8l · ADPA"]] == [0, 10, 20]
    assert curves["smollm2-8l · ADPA"][1][1] == pytest.approx(np.mean([1.01, 1.02, 1.03]))


def test_no_sweep_no_curves_means_no_figure_files(tmp_path):
    doc = copy_doc()
    doc["entries"] = [e for e in doc["entries"] if e.get("study") != "figure5"]
    for e in doc["entries"]:
        e.pop("curves", None)
        e.get("hyperparameters", {}).pop("alpha", None)
    out = tmp_path / "out"
    for name in ("figure5.png", "curves.svg"):  # stale files from an earlier render must not survive
        out.mkdir(exist_ok=True)
        (out / name).write_bytes(b"old")
    assert main(["report", str(write(tmp_path / "r.json", doc)), "--out", str(out)]) == 0
    assert not list(out.glob("figure5.*")) and not list(out.glob("curves.*"))
    assert "Figure 5 is not drawn" in (out / "table2.html").read_text()


def test_bad_input_is_a_clear_error_and_writes_nothing(tmp_path, capsys):
    doc = copy_doc()
    doc["entries"][3]["metrics"][0]["value"] = "high"
    out = tmp_path / "out"
    assert main(["report", str(write(tmp_path / "bad.json", doc)), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "bad.json") in err and "metrics[0].value" in err and "method 'dpo'" in err
    assert not out.exists()
    assert main(["report", str(tmp_path / "nowhere"), "--out", str(out)]) == 2
    assert "no such results file or run directory" in capsys.readouterr().err


def test_two_inputs_merge_and_perf_section(tmp_path):
    doc = copy_doc()
    first, second = copy_doc(), copy_doc()
    first["entries"], second["entries"] = doc["entries"][:4], doc["entries"][4:]
    perf = write(tmp_path / "perf.json", {"machine": "h100", "rows": [
        {"stage": "train adpa", "tokens_per_s": 1234.5, "note": "<b>bold?</b>"}, {"stage": "eval", "peak_mem_gb": 3}]})
    out = tmp_path / "out"
    assert main(["report", str(write(tmp_path / "a.json", first)), str(write(tmp_path / "b.json", second)),
                 "--out", str(out), "--name", "mixed", "--perf", str(perf)]) == 0
    html = (out / "mixed.html").read_text()
    assert 'id="perf"' in html and "1234" in html and "&lt;b&gt;bold?&lt;/b&gt;" in html and "peak_mem_gb" in html
    assert html.count("Results file ") == 2
    md = (out / "mixed.md").read_text()
    assert "| smollm2-8l | Teacher (reference): smollm2-135m |" in md and "| ADPA+ |" in md


def test_results_written_before_the_schema_change_still_render(tmp_path):
    """A results.json that `bench run` wrote at the commit before the results schema moved to bench/results (schema
    v1: no intervals, no item scores, a run of the test profile) renders: the values as they were, no intervals
    invented, and the merged results it writes are the current schema."""
    from pathlib import Path

    old = Path(__file__).parent / "fixtures" / "results_v1_written_before_issue11.json"
    assert json.loads(old.read_text())["schema"] == "adpa-bench/results/v1"
    out = tmp_path / "reports"
    assert main(["report", str(old), "--out", str(out), "--name", "old"]) == 0
    table = (out / "old.md").read_text()
    rows = [line for line in table.splitlines() if line.startswith("| tiny-random") or line.startswith("|  | DPO")]
    assert rows == ["| tiny-random | SFT | 1 | 0.000 | 0.333 |", "|  | DPO | 1 | 0.500 | 0.667 |"], table
    assert "SFT" in (out / "old.html").read_text()
    assert json.loads((out / "old.results.json").read_text())["schema"] != "adpa-bench/results/v1"


def test_methods_option_renders_only_the_rows_asked_for(tmp_path, capsys):
    # `bench reproduce` passes the methods it ran: rows an earlier run of other methods left in a run folder's
    # results.json (perhaps scored by another judge) must not reach the table
    source = write(tmp_path / "r.json", copy_doc())
    out = tmp_path / "out"
    assert main(["report", str(source), "--out", str(out), "--methods", "ref_teacher,dpo_teacher,sft,dpo,adpa_plus"]) == 0
    captured = capsys.readouterr()
    assert "left out 10 entries of methods not asked for (adpa, dckd)" in captured.err
    assert "rendered 5 entries" in captured.out
    entries = json.loads((out / "table2.results.json").read_text())["entries"]
    assert sorted(e["method"] for e in entries) == ["adpa_plus", "dpo", "dpo_teacher", "ref_teacher", "sft"]
    md = (out / "table2.md").read_text()
    assert "| ADPA+ |" in md and "| DCKD" not in md and "| ADPA |" not in md

    assert main(["report", str(source), "--out", str(tmp_path / "bad"), "--methods", "sft,nonsense"]) == 2
    assert "--methods: unknown row kind(s) nonsense" in capsys.readouterr().err
    assert main(["report", str(source), "--out", str(tmp_path / "none"), "--methods", "simpo"]) == 2
    assert "none of the inputs' entries is of these methods" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists() and not (tmp_path / "none").exists()
