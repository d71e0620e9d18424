"""The paper profile: its plan prints offline; running it offline stops before any work, naming what is missing."""
from __future__ import annotations

from pipeline_helpers import run_bench, bench_env


def _env(tmp_path):
    # Empty caches and data directory: nothing of the paper setting is on this machine.
    empty = tmp_path / "empty-data"
    empty.mkdir()
    return bench_env(tmp_path / "bench-cache", BENCH_DATA_DIR=empty, HF_HOME=tmp_path / "hf-home")


def test_paper_dry_run_prints_the_plan(tmp_path):
    proc = run_bench(["--method", "adpa_plus", "--model", "danube3-500m", "--dry-run", "--run-dir", str(tmp_path / "run")], _env(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stderr
    assert "profile=paper" in out
    assert "danube3-500m" in out and "mistral-7b" in out
    assert "dpo_mix_7k" in out and "deita_10k" in out
    for stage in ("ref_teacher", "dpo_teacher", "sft", "teacher_topk", "dckd", "samples_dckd", "advantages_dckd", "adpa_plus"):
        assert f" {stage} " in out, stage
    assert "lr=5e-07" in out and "lr=2e-05" in out  # section 3 learning rates
    assert not (tmp_path / "run").exists()


def test_paper_run_offline_fails_before_any_work(tmp_path):
    run_dir, cache = tmp_path / "run", tmp_path / "stages"
    proc = run_bench(["--method", "adpa_plus", "--model", "danube3-500m", "--run-dir", str(run_dir), "--cache-dir", str(cache)], _env(tmp_path))
    assert proc.returncode != 0
    err = proc.stderr
    for item in ("danube3-500m", "h2oai/h2o-danube3-500m-base", "mistral-7b", "dpo_mix_7k", "deita_10k", "--data-dir", "BENCH_DATA_DIR"):
        assert item in err, item
    assert "Traceback" not in err
    assert not run_dir.exists() and not cache.exists() and not (tmp_path / "bench-cache").exists()
