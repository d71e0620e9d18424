"""`bench run --method gkd` with samples redrawn during training (``resample_every``), as a user runs it: the stage
loads the live DPO teacher, every second micro-batch trains on fresh samples, and the manifest says how many."""
from __future__ import annotations

import json
import math

import pytest

from pipeline_helpers import bench_env, final_metrics, run_bench, stage_status


@pytest.mark.slow
@pytest.mark.timeout(1800)  # about 40 s when the machine is idle
def test_gkd_with_redrawn_samples_runs_and_records_them(tmp_path):
    cache, run_dir = tmp_path / "stages", tmp_path / "run"
    proc = run_bench(["--method", "gkd", "--profile", "test", "--cache-dir", str(cache), "--run-dir", str(run_dir),
                      "--set", "stages.gkd.loss.settings.resample_every=2"], bench_env(tmp_path / "models"))
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert stage_status(proc.stderr)["gkd"] == "done"
    (manifest,) = [json.loads(p.read_text()) for p in cache.glob("gkd-*/manifest.json")]
    summary, training = manifest["summary"], manifest["config"]["training"]
    assert manifest["config"]["loss"]["settings"]["resample_every"] == 2
    micro_batches = summary["steps"] * training["grad_accum"]
    assert summary["on_policy_samples"]["micro_batches"] == micro_batches > 1
    assert summary["on_policy_samples"]["redrawn"] == math.ceil(micro_batches / 2)
    assert all(math.isfinite(v) for v in final_metrics(run_dir, "gkd").values() if v is not None)


def test_redrawing_under_deepspeed_or_fsdp_is_refused_naming_the_setting(monkeypatch):
    """Plain data parallelism keeps the whole student on every process and may redraw (test_methods_accelerate);
    DeepSpeed and FSDP may partition it, so the stage refuses before loading anything."""
    from types import SimpleNamespace

    from methods.base import LossConfig

    from methods.registry import get_method

    from bench.pipeline.train_stage import _on_policy, partitioned

    stage = SimpleNamespace(name="gkd", config={"method": "gkd"})
    loss = LossConfig(settings={"resample_every": 1})
    refused = r"stages\.gkd\.loss\.settings\.resample_every: .*whole student"
    for args in (SimpleNamespace(world_size=2, deepspeed="configs/accelerate/ds_zero3.json"),
                 SimpleNamespace(world_size=1, fsdp="full_shard")):
        with pytest.raises(ValueError, match=refused):
            _on_policy(None, stage, get_method("gkd"), loss, None, args)
    data_parallel = SimpleNamespace(world_size=2, deepspeed=None, fsdp="")
    assert not partitioned(data_parallel)
    monkeypatch.setenv("ACCELERATE_USE_DEEPSPEED", "true")  # as `accelerate launch --config_file zero3.yaml` sets it
    with pytest.raises(ValueError, match=refused):
        _on_policy(None, stage, get_method("gkd"), loss, None, data_parallel)
    assert _on_policy(None, stage, get_method("gkd"), LossConfig(), None, data_parallel) is None  # drawn once: no sampler
