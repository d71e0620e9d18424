"""Issue 13, settings and arguments: every bad recipe value or command-line argument is one line naming the field or
flag, a non-zero exit code, and nothing run or written (no stage folder, no results file).

Files: test_bad_input_files.py (malformed data, annotations and model folders), test_bad_input_runs.py (degenerate
data, diverged training, disk full, read-only cache, locks, run.log, permissions)."""
from __future__ import annotations

import json
import math
import os

import pytest

from bad_input_helpers import bench, error_line, leftovers, stage_dirs, strict_json

RUN = ("run", "--profile", "test", "--method")


def _run(capsys, tmp_path, method: str, *extra):
    cache, run_dir = tmp_path / "cache", tmp_path / "run"
    code, out, err = bench(capsys, *RUN, method, "--no-eval", "--cache-dir", cache, "--run-dir", run_dir, *extra)
    return code, err, cache, run_dir


# -- the recipe (issue items 1, 2 and 4): refused when it loads, before any model or data is touched --------------------

RECIPE_CASES = {
    "lr 1e20 (diverges to NaN)": ("stages.sft.learning_rate=1e20", "sft", "stages.sft.learning_rate: must be <= 1, got 1e+20"),
    "lr 1e999 (Infinity)": ("stages.sft.learning_rate=1e999", "sft", "stages.sft.learning_rate: expected a finite number, got inf"),
    "negative lr": ("stages.dpo.learning_rate=-1e-3", "dpo", "stages.dpo.learning_rate: must be > 0, got -0.001"),
    "lr 1e38": ("stages.sft.learning_rate=1e38", "sft", "stages.sft.learning_rate: must be <= 1"),
    "topk.k=0 (DCKD without distillation)": ("topk.k=0", "dckd", "topk.k: must be >= 1, got 0"),
    "negative topk.k": ("topk.k=-5", "dckd", "topk.k: must be >= 1, got -5"),
    "data.train_limit=-1 (all but the last)": ("data.train_limit=-1", "sft", "data.train_limit: must be >= 1, got -1"),
    "data.train_limit=0": ("data.train_limit=0", "sft", "data.train_limit: must be >= 1, got 0"),
    "eval.limit=-1": ("eval.limit=-1", "sft", "eval.limit: must be >= 1, got -1"),
    "--set VALUE=abc names the field": ("stages.sft.learning_rate=abc", "sft", "stages.sft.learning_rate: expected a finite number, got 'abc'"),
    "--set bad YAML": ("stages.sft.learning_rate=[1e-3", "sft", "--set stages.sft.learning_rate: the value '[1e-3' is not valid YAML"),
    "--set data=5 (a section of the wrong type)": ("data=5", "sft", "data: expected a mapping of fields, got 5"),
    "negative seed": ("seed=-1", "sft", "seed: must be >= 0, got -1"),
}


@pytest.mark.parametrize("case", list(RECIPE_CASES))
def test_bad_recipe_value_is_one_line_naming_the_field(case, tmp_path, capsys):
    assignment, method, expected = RECIPE_CASES[case]
    code, err, cache, run_dir = _run(capsys, tmp_path, method, "--set", assignment)
    assert code == 2
    assert expected in error_line(err, "run")
    assert not cache.exists() and not run_dir.exists()  # refused before anything was created


def test_empty_recipe_file(tmp_path, capsys):
    recipe = tmp_path / "empty.yaml"
    recipe.write_text("# nothing here\n")
    code, out, err = bench(capsys, "run", "--profile", recipe, "--method", "sft", "--run-dir", tmp_path / "run")
    assert code == 2
    assert f"{recipe}: the recipe file is empty" in error_line(err, "run")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("argv, flag", [(("--method", "sft", "--seed", "-1"), "--seed"), (("--method", "sft,nosuch"), "--method"),
                                        (("--method", "sft", "--study", ""), "--study"),
                                        (("--method", "sft", "--data-dir", "/no/such/data"), "--data-dir")])
def test_bad_run_arguments(argv, flag, tmp_path, capsys):
    code, out, err = bench(capsys, "run", "--profile", "test", *argv, "--run-dir", tmp_path / "run")
    assert code == 2
    assert flag in error_line(err, "run")
    assert not (tmp_path / "run").exists()


def test_run_dir_or_cache_dir_naming_a_file(tmp_path, capsys):
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    for flag in ("--run-dir", "--cache-dir"):
        code, out, err = bench(capsys, *RUN, "sft", flag, a_file)
        assert code == 2
        assert f"argument {flag}: {a_file} is a file, not a folder" in error_line(err, "run")
    assert a_file.read_text() == "x"


def test_topk_above_the_vocabulary_fails_before_any_stage(tmp_path, capsys):
    code, err, cache, run_dir = _run(capsys, tmp_path, "dckd", "--set", "topk.k=1000000")
    assert code == 2
    assert "topk.k: 1000000 is larger than the vocabulary of tiny-random" in error_line(err, "run")
    assert stage_dirs(cache) == [] and not leftovers(cache, run_dir)
    assert not (run_dir / "results.json").exists()


# -- bench eval (items 2 and 4): arguments checked before a model is loaded --------------------------------------------

@pytest.fixture()
def fake_benchmark(monkeypatch):
    """A benchmark that records the limit it was given (so a refused command provably ran nothing)."""
    from bench.evals import BENCHMARKS, Benchmark, BenchmarkResult, MetricResult

    calls = []

    def run(ctx):
        calls.append(ctx.limit)
        return BenchmarkResult("fake", [MetricResult("fake", "score", 1.0, 1, item_scores={"a": 1.0}, score_kind="binary")])

    monkeypatch.setitem(BENCHMARKS, "fake", Benchmark("fake", "records its limit", run))
    return calls


@pytest.mark.parametrize("argv, expected", [
    (("--limit", "0"), "argument --limit: must be a whole number >= 1 (omit it for every item), got '0'"),
    (("--limit", "-1"), "argument --limit: must be a whole number >= 1 (omit it for every item), got '-1'"),
    (("--max-new-tokens", "0"), "argument --max-new-tokens: must be a whole number >= 1, got '0'"),
    (("--seed", "-3"), "argument --seed: must be a whole number >= 0, got '-3'"),
    (("--benchmarks", "nosuch"), "unknown benchmark(s) nosuch"),
])
def test_bad_eval_arguments_run_nothing(argv, expected, fake_benchmark, tmp_path, capsys):
    out_dir = tmp_path / "out"
    code, out, err = bench(capsys, "eval", "--model", "tiny-random", "--benchmarks", "fake", *argv, "--out", out_dir)
    assert code == 2
    assert expected in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert fake_benchmark == [] and not out_dir.exists()


def test_eval_limit_is_passed_through(fake_benchmark, tmp_path, capsys):
    code, out, err = bench(capsys, "eval", "--model", "tiny-random", "--benchmarks", "fake", "--limit", "1", "--out", tmp_path)
    assert code == 0 and fake_benchmark == [1]


def test_eval_out_or_json_of_the_wrong_kind(fake_benchmark, tmp_path, capsys):
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    code, out, err = bench(capsys, "eval", "--model", "tiny-random", "--benchmarks", "fake", "--out", a_file)
    assert code == 2 and f"argument --out: {a_file} is a file, not a folder" in err
    code, out, err = bench(capsys, "eval", "--model", "tiny-random", "--benchmarks", "fake", "--out", tmp_path / "o",
                           "--json", tmp_path)
    assert code == 2 and f"argument --json: {tmp_path} is a folder; name a file" in err
    assert fake_benchmark == []


def test_eval_with_every_judgment_failed_exits_non_zero(monkeypatch, tmp_path, capsys):
    from bench.evals import BENCHMARKS, Benchmark, BenchmarkResult, MetricResult

    def all_failed(ctx):
        return BenchmarkResult("judged", [MetricResult("judged", "score", None, 3, 3, missing_reason="every judgment failed")])

    monkeypatch.setitem(BENCHMARKS, "judged", Benchmark("judged", "its judge never answers", all_failed))
    target = tmp_path / "evaluation.json"
    code, out, err = bench(capsys, "eval", "--model", "tiny-random", "--benchmarks", "judged", "--out", tmp_path,
                           "--json", target)
    assert code == 1
    assert "failed: judged" in err
    saved = strict_json(target)  # the evaluation is still written, with the failure counted
    (row,) = saved["benchmarks"][0]["metrics"]
    assert row["value"] is None and row["n_failures"] == 3


# -- bench data, report, reproduce, perf: arguments that made no sense -----------------------------------------------

@pytest.mark.parametrize("n", ["0", "-1"])
def test_data_show_n_must_be_positive(n, capsys):
    code, out, err = bench(capsys, "data", "show", "builtin", "--n", n)
    assert code == 2
    assert f"argument --n: must be a whole number >= 1, got '{n}'" in error_line(err, "data")
    assert out == ""


@pytest.mark.parametrize("command", [("data", "show", "dpo_mix_7k"), ("eval", "--model", "tiny-random", "--benchmarks", "gold"),
                                     ("alpaca-eval-winrate", "annotations.json")])
def test_data_dir_that_does_not_exist(command, tmp_path, capsys):
    missing = tmp_path / "no-such-data"
    code, out, err = bench(capsys, *command, "--data-dir", missing)
    assert code == 2
    assert f"argument --data-dir: {missing}: no such folder" in error_line(err, command[0])


@pytest.mark.parametrize("benchmark, who", [("mt_bench", "MT-Bench"), ("alpaca_eval", "AlpacaEval")])
def test_a_benchmark_without_the_data_directory_says_how_to_give_it(benchmark, who, monkeypatch):
    from bench.evals import alpaca_eval, mt_bench
    from bench.evals.base import EvalContext

    monkeypatch.delenv("BENCH_DATA_DIR", raising=False)
    read = {"mt_bench": lambda: mt_bench.data_dir(EvalContext("tiny-random")), "alpaca_eval": lambda: alpaca_eval.load_reference(None)}
    with pytest.raises(FileNotFoundError, match=f"^{who} needs the data directory: pass --data-dir or set BENCH_DATA_DIR$"):
        read[benchmark]()


@pytest.mark.parametrize("name", ["a/b", " ", ".hidden", "-x", ""])
def test_report_name_must_be_a_plain_file_name(name, tmp_path, capsys):
    from report_helpers import copy_doc, write

    results = write(tmp_path / "results.json", copy_doc())
    out = tmp_path / "out"
    code, _, err = bench(capsys, "report", results, "--out", out, f"--name={name}")
    assert code == 2
    assert "argument --name: must be a plain file name" in error_line(err, "report")
    assert not out.exists()


def test_report_out_naming_a_file(tmp_path, capsys):
    from report_helpers import copy_doc, write

    results = write(tmp_path / "results.json", copy_doc())
    a_file = tmp_path / "report.html"
    a_file.write_text("keep me")
    code, _, err = bench(capsys, "report", results, "--out", a_file)
    assert code == 2
    assert f"argument --out: {a_file} is a file, not a folder" in error_line(err, "report")
    assert a_file.read_text() == "keep me" and not leftovers(tmp_path)


def test_report_refuses_a_results_file_with_nan(tmp_path, capsys):
    """What one diverged run used to do to `bench report runs/*/results.json`: refused, naming the file."""
    from report_helpers import copy_doc, write

    bad = write(tmp_path / "diverged" / "results.json", copy_doc())
    bad.write_text(bad.read_text().replace('"value": 4.0', '"value": NaN', 1))
    assert "NaN" in bad.read_text()
    code, _, err = bench(capsys, "report", bad, "--out", tmp_path / "out")
    assert code == 2
    assert f"{bad}: not valid JSON" in error_line(err, "report") and "NaN" in err
    assert not (tmp_path / "out").exists()


def test_reproduce_seeds_must_be_positive(monkeypatch, tmp_path, capsys):
    import bench.commands.reproduce as reproduce

    monkeypatch.setattr(reproduce, "_bench", lambda args: pytest.fail(f"ran bench {args}"))
    code, _, err = bench(capsys, "reproduce", "--profile", "test", "--seeds", "0", "--out", tmp_path / "r")
    assert code == 2 and "argument --seeds: must be a whole number >= 1" in error_line(err, "reproduce")


@pytest.mark.parametrize("argv", [("--repeats", "0"), ("--sequences", "0"), ("--seq-len", "-4")])
def test_perf_sizes_must_be_positive(argv, monkeypatch, capsys):
    import bench.commands.perf as perf

    monkeypatch.setattr(perf, "run_all", lambda *a, **k: pytest.fail("perf ran"))
    code, _, err = bench(capsys, "perf", "--quick", *argv)
    assert code == 2 and f"argument {argv[0]}: must be a whole number" in error_line(err, "perf")


# -- bench alpaca-eval-winrate (item 8) ---------------------------------------------------------------------------

def _annotations(tmp_path, preferences, name="annotations.json"):
    rows = [{"instruction": f"q{i}", "output_1": "r" * (10 + i), "output_2": "m" * (12 + i), "generator_1": "ref",
             "generator_2": "model", "preference": p} for i, p in enumerate(preferences)]
    path = tmp_path / name
    path.write_text(json.dumps(rows))
    return path


def test_winrate_all_null_is_an_error_not_nan(tmp_path, capsys):
    path = _annotations(tmp_path, [None, None, None])
    for extra in ((), ("--json",)):
        code, out, err = bench(capsys, "alpaca-eval-winrate", path, "--data-dir", tmp_path, *extra)
        assert code == 2
        assert f"{path}: every one of the 3 records has preference null" in error_line(err, "alpaca-eval-winrate")
        assert "NaN" not in out + err


def test_winrate_json_is_strict_with_one_annotated_record(tmp_path, capsys):
    path = _annotations(tmp_path, [2, None])
    code, out, err = bench(capsys, "alpaca-eval-winrate", path, "--data-dir", tmp_path, "--json")
    assert code == 0
    got = json.loads(out, parse_constant=lambda c: pytest.fail(f"{c} in --json output"))
    assert got["win_rate"] == 100.0 and got["n_total"] == 1 and got["standard_error"] is None  # sem of one: undefined


@pytest.mark.parametrize("bad", [7, -1, 0.5, "2", True])
def test_winrate_refuses_a_preference_off_the_scale(bad, tmp_path, capsys):
    path = _annotations(tmp_path, [2, 1, bad, 1.5])
    code, out, err = bench(capsys, "alpaca-eval-winrate", path, "--data-dir", tmp_path)
    assert code == 2
    assert f"{path}: record 2: field 'preference': {bad!r} is not on alpaca_eval's scale" in error_line(err, "alpaca-eval-winrate")


def test_winrate_accepts_alpaca_eval_ties_and_soft_preferences(tmp_path, capsys):
    path = _annotations(tmp_path, [2, 1, 0, 1.5, 1.75, None])
    code, out, err = bench(capsys, "alpaca-eval-winrate", path, "--data-dir", tmp_path, "--json")
    assert code == 0
    got = json.loads(out)
    assert got["n_total"] == 5 and got["n_draws"] == 2 and got["n_unannotated"] == 1
    assert math.isclose(got["win_rate"], 100 * (1 + 0 + 0.5 + 0.5 + 0.75) / 5)


def test_winrate_annotations_not_utf8(tmp_path, capsys):
    path = tmp_path / "annotations.json"
    path.write_bytes('[{"instruction": "caf\u00e9", "preference": 2},\n {"instruction": "na\u00efve", "preference": 1}]'
                     .replace("caf\u00e9", "cafe").encode("latin-1"))
    code, out, err = bench(capsys, "alpaca-eval-winrate", path)
    assert code == 2
    assert f"{path}: line 2: not UTF-8 text (byte 0xef)" in error_line(err, "alpaca-eval-winrate")


def test_winrate_missing_preference_names_the_record(tmp_path, capsys):
    path = tmp_path / "a.json"
    path.write_text(json.dumps([{"instruction": "x", "preference": 1}, {"instruction": "y"}]))
    code, out, err = bench(capsys, "alpaca-eval-winrate", path)
    assert code == 2 and f"{path}: record 1: field 'preference' is missing" in error_line(err, "alpaca-eval-winrate")


def test_report_files_are_readable_by_others(tmp_path, capsys):
    """Written through a temporary file, they still get 0666 less the umask (0644 here), not mkstemp's 0600."""
    from report_helpers import copy_doc, write

    results = write(tmp_path / "results.json", copy_doc())
    old_mask = os.umask(0o022)
    try:
        code, out, err = bench(capsys, "report", results, "--out", tmp_path / "out")
    finally:
        os.umask(old_mask)
    assert code == 0, err
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "out").iterdir()}
    assert modes and set(modes.values()) == {0o644}, modes
