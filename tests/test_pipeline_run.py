"""`bench run` end to end on tiny random models (test recipe), through the real CLI in subprocesses."""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from pipeline_helpers import ROOT, bench_cmd, bench_env, final_metrics, run_bench, stage_status, tiny_args

ADPA_PLUS_STAGES = ["sft", "ref_teacher", "dpo_teacher", "teacher_topk", "dckd", "samples_dckd", "advantages_dckd", "adpa_plus", "eval_adpa_plus"]


@pytest.fixture(scope="module")
def models_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("bench-models")


@pytest.fixture(scope="module")
def baseline(models_cache, tmp_path_factory):
    """One uninterrupted adpa_plus run: its stage cache, run dir and output."""
    root = tmp_path_factory.mktemp("baseline")
    cache, run_dir = root / "stages", root / "run"
    proc = run_bench(tiny_args(cache, run_dir), bench_env(models_cache))
    assert proc.returncode == 0, proc.stderr[-4000:]
    return cache, run_dir, proc.stderr


@pytest.mark.slow
@pytest.mark.timeout(1800)  # about a minute per run when the machine is idle; generous for a shared, loaded one
def test_uninterrupted_run_runs_every_stage_and_writes_results(baseline):
    cache, run_dir, output = baseline
    status = stage_status(output)
    assert list(status) == ADPA_PLUS_STAGES
    assert set(status.values()) == {"done"}
    metrics = final_metrics(run_dir)
    assert 0.0 <= metrics[("heldout", "pair_accuracy")] <= 1.0
    assert metrics[("heldout", "chosen_nll")] > 0
    assert (run_dir / "run.log").read_text().count("dckd (train): ") > 0
    # Every committed stage has its manifest; nothing temporary is left behind.
    assert not list(cache.glob(".tmp-*"))
    assert all((d / "manifest.json").is_file() for d in cache.iterdir() if not d.name.startswith(".lock-"))  # stage locks


@pytest.mark.slow
@pytest.mark.timeout(1800)  # about a minute per run when the machine is idle; generous for a shared, loaded one
def test_second_run_is_all_cached_and_fast(baseline, models_cache):
    cache, run_dir, _ = baseline
    before = final_metrics(run_dir)
    proc = run_bench(tiny_args(cache, run_dir), bench_env(models_cache))
    assert proc.returncode == 0, proc.stderr[-4000:]
    status = stage_status(proc.stderr)
    assert list(status) == ADPA_PLUS_STAGES and set(status.values()) == {"cached"}
    seconds = float(re.search(r"bench run: ([\d.]+)s", proc.stderr).group(1))
    assert seconds < 5.0, f"an all-cached run took {seconds}s"
    assert final_metrics(run_dir) == before


@pytest.mark.slow
@pytest.mark.timeout(1800)  # about a minute per run when the machine is idle; generous for a shared, loaded one
def test_changing_one_hyperparameter_reruns_only_downstream_stages(baseline, models_cache, tmp_path):
    cache, _, _ = baseline
    copy = tmp_path / "stages"
    shutil.copytree(cache, copy)
    proc = run_bench(tiny_args(copy, tmp_path / "run", "--set", "stages.dckd.learning_rate=2e-3"), bench_env(models_cache))
    assert proc.returncode == 0, proc.stderr[-4000:]
    status = stage_status(proc.stderr)
    assert {s for s, v in status.items() if v == "cached"} == {"sft", "ref_teacher", "dpo_teacher", "teacher_topk"}
    assert {s for s, v in status.items() if v == "done"} == {"dckd", "samples_dckd", "advantages_dckd", "adpa_plus", "eval_adpa_plus"}


def _wait_for(path, pattern: str, proc, timeout: float = 1500.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and re.search(pattern, path.read_text()):
            return
        if proc.poll() is not None:
            raise AssertionError(f"bench run ended (rc={proc.returncode}) before {pattern!r} appeared in the log")
        time.sleep(0.05)
    raise AssertionError(f"{pattern!r} never appeared in {path}")


@pytest.mark.slow
@pytest.mark.timeout(1800)  # about a minute per run when the machine is idle; generous for a shared, loaded one
def test_sigkill_mid_stage_then_rerun_matches_uninterrupted(baseline, models_cache, tmp_path):
    _, base_run, _ = baseline
    cache, run_dir = tmp_path / "stages", tmp_path / "run"
    env = bench_env(models_cache)
    proc = subprocess.Popen(bench_cmd(*tiny_args(cache, run_dir)), env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_for(run_dir / "run.log", r"dckd \(train\): 1/", proc)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not list(cache.glob("dckd-*")), "a killed stage must not leave a final directory"
    assert list(cache.glob(".tmp-dckd-*")), "the kill was meant to land inside the dckd stage"
    assert not (run_dir / "results.json").exists()

    rerun = run_bench(tiny_args(cache, run_dir), env)
    assert rerun.returncode == 0, rerun.stderr[-4000:]
    status = stage_status(rerun.stderr)
    assert [s for s in ADPA_PLUS_STAGES if status[s] == "cached"] == ["sft", "ref_teacher", "dpo_teacher", "teacher_topk"]
    assert not list(cache.glob(".tmp-*")), "the dead run's temporary directory is cleaned up"
    assert final_metrics(run_dir) == final_metrics(base_run)
    # Same keys, same artifacts: the resumed run's stage directories are the uninterrupted run's.
    assert sorted(p.name for p in cache.iterdir()) == sorted(p.name for p in baseline[0].iterdir())
