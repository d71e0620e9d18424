"""Issue 13, malformed files: data sets (item 5), annotations (item 8) and model folders (item 6). Each is one line
naming the file and the line or record, a non-zero exit code, and no stage folder or results file left behind."""
from __future__ import annotations

import gzip
import json

import pytest

from bad_input_helpers import bench, conversation, copy_model, error_line, leftovers, stage_dirs, write_jsonl

PAIRS = [{"chosen": conversation(f"good answer {i}"), "rejected": conversation(f"bad answer {i}")} for i in range(4)]


def _jsonl_bytes(rows) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def _truncated_gzip() -> bytes:
    whole = gzip.compress(_jsonl_bytes(PAIRS * 50))
    return whole[: len(whole) // 2]


# file name, content, the message expected after "<data_dir>/dpo_mix_7k/<file>: "
MALFORMED = {
    "empty JSONL": ("train.jsonl", b"", "no records (the file is empty)"),
    "blank-lines-only JSONL": ("train.jsonl", b"\n  \n", "no records (the file is empty)"),
    "binary JSONL": ("train.jsonl", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00", "line 1: not UTF-8 text (byte 0x89 at column 1"),
    "binary JSONL with NUL bytes": ("train.jsonl", b"\x00\x01\x02\x03", "line 1: binary data (NUL bytes), not JSON text"),
    "truncated last line": ("train.jsonl", _jsonl_bytes(PAIRS[:2]) + b'{"chosen": [{"role": "user", "con',
                            "line 3: not valid JSON (Unterminated string starting at: column 30"),
    "Latin-1 JSONL": ("train.jsonl", _jsonl_bytes(PAIRS[:1]) + json.dumps({"chosen": conversation("caf\u00e9")},
                                                                          ensure_ascii=False).encode("latin-1"),
                      "line 2: not UTF-8 text (byte 0xe9"),
    "a line that is not an object": ("train.jsonl", _jsonl_bytes(PAIRS[:1]) + b"[1, 2]\n",
                                     "line 2: expected a JSON object (one record), got list"),
    "NaN in a line": ("train.jsonl", b'{"chosen": NaN}\n', "line 1: NaN is not a JSON value"),
    "truncated .jsonl.gz": ("train.jsonl.gz", _truncated_gzip(), "the gzip stream ends early after line"),
    "plain text named .jsonl.gz": ("train.jsonl.gz", _jsonl_bytes(PAIRS), "not a gzip file"),
    "parquet that is not parquet": ("train.parquet", b"PAR1 this is not parquet", "not a readable Parquet file"),
    "JSON array cut short": ("train.json", b'[{"chosen": []},\n {"chosen": ', "line 2: not valid JSON (Expecting value: column 13)"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_data_file_names_file_and_line(case, tmp_path, capsys):
    name, content, expected = MALFORMED[case]
    path = tmp_path / "dpo_mix_7k" / name
    path.parent.mkdir()
    path.write_bytes(content)
    code, out, err = bench(capsys, "data", "show", "dpo_mix_7k", "--data-dir", tmp_path)
    assert code == 2
    assert f"{path}: {expected}" in error_line(err, "data")
    assert out == ""


def test_hh_rlhf_truncated_archive_names_file_and_line(tmp_path, capsys):
    path = tmp_path / "hh_rlhf" / "harmless-base-test.jsonl.gz"
    path.parent.mkdir()
    rows = [{"chosen": "\n\nHuman: hi\n\nAssistant: hello", "rejected": "\n\nHuman: hi\n\nAssistant: go away"}] * 400
    whole = gzip.compress(_jsonl_bytes(rows))
    path.write_bytes(whole[: len(whole) // 2])
    code, out, err = bench(capsys, "data", "stats", "hh_rlhf", "--split", "test", "--data-dir", tmp_path)
    assert code == 2
    assert f"{path}: the gzip stream ends early after line" in error_line(err, "data")


def test_well_formed_files_of_every_format_read_alike(tmp_path):
    """The direct reader gives the same records for JSONL, .jsonl.gz, JSON and Parquet (and skips blank lines)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from bench.datasets.files import read_records

    (tmp_path / "a.jsonl").write_bytes(_jsonl_bytes(PAIRS[:2]) + b"\n\n" + _jsonl_bytes(PAIRS[2:]))
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(_jsonl_bytes(PAIRS)))
    (tmp_path / "a.json").write_text(json.dumps(PAIRS))
    pq.write_table(pa.Table.from_pylist(PAIRS), tmp_path / "a.parquet")
    for name in ("a.jsonl", "a.jsonl.gz", "a.json", "a.parquet"):
        assert read_records(tmp_path / name) == PAIRS, name


def test_local_data_is_not_copied_into_the_huggingface_cache(tmp_path, monkeypatch):
    """Local files are read directly: `datasets` (which caches a copy under ~/.cache/huggingface, outside
    BENCH_CACHE_DIR) is not called for them."""
    import datasets

    from bench.datasets import get_source

    def refuse(*args, **kwargs):
        raise AssertionError(f"datasets.load_dataset called for a local file: {args} {kwargs}")

    monkeypatch.setattr(datasets, "load_dataset", refuse)
    write_jsonl(tmp_path / "dpo_mix_7k" / "train.jsonl", PAIRS)
    pairs = get_source("dpo_mix_7k").preference("train", tmp_path)
    assert [p["chosen"][0]["content"] for p in pairs] == [f"good answer {i}" for i in range(4)]


def test_malformed_data_file_stops_a_run_before_any_stage(tmp_path, capsys):
    write_jsonl(tmp_path / "data" / "dpo_mix_7k" / "test.jsonl", PAIRS)
    bad = tmp_path / "data" / "dpo_mix_7k" / "train.jsonl"
    bad.write_bytes(_jsonl_bytes(PAIRS[:3]) + b'{"chosen": [')
    cache, run_dir = tmp_path / "cache", tmp_path / "run"
    code, out, err = bench(capsys, "run", "--profile", "test", "--method", "dpo", "--no-eval", "--set", "data.source=dpo_mix_7k",
                           "--data-dir", tmp_path / "data", "--cache-dir", cache, "--run-dir", run_dir)
    assert code == 2
    assert f"{bad}: line 4: not valid JSON" in error_line(err, "run")
    assert stage_dirs(cache) == [] and not leftovers(cache, run_dir) and not (run_dir / "results.json").exists()
    assert f"{bad}: line 4" in (run_dir / "run.log").read_text()


# -- model folders (item 6) -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_folder():
    from bench.models import materialise

    return materialise("tiny-random")


def _run_with_model(capsys, tmp_path, model):
    cache, run_dir = tmp_path / "cache", tmp_path / "run"
    code, out, err = bench(capsys, "run", "--profile", "test", "--method", "sft", "--no-eval", "--model", model,
                           "--cache-dir", cache, "--run-dir", run_dir)
    return code, err, cache, run_dir


def test_missing_model_folder_is_a_missing_folder_not_a_hub_id(tmp_path, capsys):
    missing = tmp_path / "models" / "my-student"
    code, out, err = bench(capsys, "eval", "--model", missing, "--benchmarks", "heldout", "--out", tmp_path / "out")
    assert code == 3
    assert f"--model: {missing}: no such model folder" in error_line(err, "eval")
    assert "hub" not in err and not (tmp_path / "out").exists()
    code, err, cache, run_dir = _run_with_model(capsys, tmp_path, missing)
    assert code == 3 and f"{missing}: no such model folder" in err and "hub" not in err
    assert stage_dirs(cache) == [] and not run_dir.exists()


def test_relative_paths_are_folders_and_owner_name_is_a_hub_id(tmp_path, monkeypatch):
    from bench.models import looks_like_path

    monkeypatch.chdir(tmp_path)
    (tmp_path / "models").mkdir()
    assert looks_like_path("./student") and looks_like_path("~/student") and looks_like_path("models/student")
    assert looks_like_path("runs/a/model") and looks_like_path("/abs/student")
    assert not looks_like_path("h2oai/h2o-danube3-500m-base") and not looks_like_path("tiny-random")


def test_invalid_config_json_names_the_file_and_leaves_no_stage_folder(tiny_folder, tmp_path, capsys):
    folder = copy_model(tiny_folder, tmp_path / "student")
    (folder / "config.json").write_text('{"model_type": "llama",\n "hidden_size": 64,,\n}')
    code, err, cache, run_dir = _run_with_model(capsys, tmp_path, folder)
    assert code == 2
    assert f"{folder / 'config.json'}: not valid JSON (line 2 column" in error_line(err, "run")
    assert stage_dirs(cache) == [] and not leftovers(cache, run_dir)
    code, out, err = bench(capsys, "eval", "--model", folder, "--benchmarks", "heldout", "--out", tmp_path / "out")
    assert code == 2 and f"{folder / 'config.json'}: not valid JSON" in error_line(err, "eval")


def test_config_without_model_type(tiny_folder, tmp_path, capsys):
    folder = copy_model(tiny_folder, tmp_path / "student")
    (folder / "config.json").write_text("{}")
    code, err, cache, run_dir = _run_with_model(capsys, tmp_path, folder)
    assert code == 2 and f"{folder / 'config.json'}: no 'model_type' field" in error_line(err, "run")
    assert stage_dirs(cache) == [] and not leftovers(cache, run_dir)


def test_folder_without_a_tokenizer(tiny_folder, tmp_path, capsys):
    folder = copy_model(tiny_folder, tmp_path / "student", drop=("tokenizer.json",))
    code, err, cache, run_dir = _run_with_model(capsys, tmp_path, folder)
    assert code == 3
    assert f"{folder}: no tokenizer (tokenizer.json" in err and "Traceback" not in err
    assert stage_dirs(cache) == [] and not leftovers(cache, run_dir)
    code, out, err = bench(capsys, "eval", "--model", folder, "--benchmarks", "heldout", "--out", tmp_path / "out")
    assert code == 3 and f"{folder}: no tokenizer" in error_line(err, "eval")


def test_pickled_weights_are_never_loaded(tiny_folder, tmp_path, capsys, monkeypatch):
    import torch
    from safetensors.torch import load_file

    folder = copy_model(tiny_folder, tmp_path / "student", drop=("model.safetensors",))
    torch.save(load_file(tiny_folder / "model.safetensors"), folder / "pytorch_model.bin")
    code, out, err = bench(capsys, "eval", "--model", folder, "--benchmarks", "heldout", "--limit", "1", "--out", tmp_path / "out")
    assert code == 3
    assert f"{folder}: no model.safetensors (only pickled weights, pytorch_model.bin, which are never loaded" in error_line(err, "eval")
    assert not (tmp_path / "out" / "evaluation.json").exists()


def test_load_model_asks_for_safetensors(monkeypatch):
    """A hub snapshot is not checked file by file: from_pretrained itself must refuse pickles."""
    from transformers import AutoModelForCausalLM

    from bench.models import load_model

    seen = {}

    def fake(folder, **kwargs):
        seen.update(kwargs)
        raise OSError("stop here")

    monkeypatch.setattr(AutoModelForCausalLM, "from_pretrained", fake)
    with pytest.raises(Exception, match="stop here"):
        load_model("tiny-random")
    assert seen.get("use_safetensors") is True and not seen.get("trust_remote_code")
