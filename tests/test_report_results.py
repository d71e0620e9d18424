"""Loading, validating, merging and saving the results JSON."""
from __future__ import annotations

import json

import pytest

from bench.results import ResultsError, load_results, merge_results, save_results
from report_helpers import copy_doc, write


def test_round_trip_keeps_entries_and_unknown_fields(tmp_path):
    doc = copy_doc()
    doc["entries"][2]["eval_host"] = "box-1"  # an optional field someone added
    doc["entries"][2]["metrics"][0]["details"]["extra_key"] = [1, 2]
    results = load_results(write(tmp_path / "run" / "results.json", doc).parent)  # a run dir works too
    out = save_results(results, tmp_path / "saved.json")
    again = json.loads(out.read_text())
    assert again["entries"][2]["eval_host"] == "box-1"
    assert again["entries"][2]["metrics"][0]["details"]["extra_key"] == [1, 2]
    assert [e["method"] for e in again["entries"]] == [e["method"] for e in doc["entries"]]
    assert again["entries"][-1]["study"] == "figure5" and again["entries"][-1]["hyperparameters"] == {"gamma": 3.2}
    assert load_results(out).entries[3].curves[1].value == pytest.approx(0.5)
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*"))


def _error(tmp_path, doc_or_text) -> str:
    path = tmp_path / "bad.json"
    path.write_text(doc_or_text if isinstance(doc_or_text, str) else json.dumps(doc_or_text))
    with pytest.raises(ResultsError) as err:
        load_results(path)
    message = str(err.value)
    assert str(path) in message
    return message


def test_invalid_json_names_file_and_line(tmp_path):
    assert "line 2 column" in _error(tmp_path, '{"schema":\n "x",,}')


def test_nan_is_refused(tmp_path):
    text = json.dumps(copy_doc()).replace('"value": 4.5', '"value": NaN', 1)
    assert "NaN is not allowed" in _error(tmp_path, text)


def test_wrong_schema(tmp_path):
    doc = copy_doc()
    doc["schema"] = "adpa-bench/results/v0"
    assert "schema: expected 'adpa-bench/results/v2' (or the older 'adpa-bench/results/v1'), got 'adpa-bench/results/v0'" in _error(tmp_path, doc)


def test_null_value_needs_a_reason(tmp_path):
    doc = copy_doc()
    doc["entries"][3]["metrics"][1]["value"] = None
    message = _error(tmp_path, doc)
    assert "entries[3] (student 'smollm2-8l', method 'dpo', seed 42): metrics[1].missing_reason" in message


def test_string_value_names_entry_and_field(tmp_path):
    doc = copy_doc()
    doc["entries"][4]["metrics"][5]["value"] = "0.64"
    assert "method 'dckd', seed 42): metrics[5].value: expected a finite number or null, got '0.64'" in _error(tmp_path, doc)


def test_unknown_method_and_missing_field(tmp_path):
    doc = copy_doc()
    doc["entries"][0]["method"] = "adpa+"
    assert "entries[0].method: unknown method 'adpa+'" in _error(tmp_path, doc)
    doc = copy_doc()
    del doc["entries"][1]["model"]
    assert "method 'dpo_teacher', seed 42): missing required field 'model'" in _error(tmp_path, doc)


def test_bad_sample_and_curve(tmp_path):
    doc = copy_doc()
    doc["entries"][2]["samples"][0]["output"] = 5
    assert "samples[0].output: expected a non-empty string, got 5" in _error(tmp_path, doc)
    doc = copy_doc()
    doc["entries"][3]["curves"][0]["step"] = -1
    assert "curves[0].step: expected an integer >= 0" in _error(tmp_path, doc)


def test_duplicate_metric_in_entry(tmp_path):
    doc = copy_doc()
    doc["entries"][2]["metrics"].append(dict(doc["entries"][2]["metrics"][0]))
    assert "duplicate metric mt_bench/turn1" in _error(tmp_path, doc)


def test_merge_several_files_and_refuse_duplicates(tmp_path):
    doc = copy_doc()
    first, second = copy_doc(), copy_doc()
    first["entries"] = doc["entries"][:5]
    second["entries"] = doc["entries"][5:]
    second["profile"] = "embedded"
    a = load_results(write(tmp_path / "a.json", first))
    b = load_results(write(tmp_path / "b.json", second))
    merged = merge_results([a, b])
    assert len(merged.entries) == len(doc["entries"])
    assert merged.profile == "embedded+test"
    assert [s.path for s in merged.sources] == [str(tmp_path / "a.json"), str(tmp_path / "b.json")]
    again = load_results(save_results(merged, tmp_path / "merged.json"))
    assert len(again.entries) == len(doc["entries"])
    with pytest.raises(ResultsError, match=r"duplicate entry \(student 'smollm2-135m', method 'ref_teacher', seed 42.*c\.json and .*a\.json"):
        merge_results([a, load_results(write(tmp_path / "c.json", first))])


def test_missing_run_dir_results(tmp_path):
    with pytest.raises(ResultsError, match="must contain results.json"):
        load_results(tmp_path)
