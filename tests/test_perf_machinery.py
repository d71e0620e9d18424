"""bench perf machinery on tiny sizes: rows, JSON, wiring of measured values, subprocess memory. No timed assertions."""
from __future__ import annotations

import json

import pytest
import torch

from bench.perf import run as perf_run
from bench.perf.cases import PerfConfig, StepCase, TRAIN_CASES, sft_rows, synthetic_pairs
from bench.perf.measure import interleaved, median, peak_rss_bytes
from bench.perf.rows import Row, write_json

ROW_KEYS = {"name", "ours", "reference", "ratio", "unit", "target", "met", "detail"}


def test_row_ratio_and_target():
    assert Row("a", 3.0, 4.0, "s", "ratio <= 0.7").ratio == pytest.approx(0.75)
    assert Row("a", 3.0, 4.0, "s", "ratio <= 0.7").met is False
    assert Row("a", 2.0, 4.0, "s", "ratio <= 0.7").met is True
    assert Row("b", 5.0, 1.0, "tok/s", "ratio >= 4").met is True
    assert Row("c", 5.0, None, "FLOP/s").ratio is None
    assert Row("c", 5.0, 0.0, "FLOP/s", "ratio >= 1").met is None
    assert Row("d", 1.0, 2.0, "s").met is None


def test_json_is_a_list_of_rows(tmp_path):
    path = tmp_path / "sub" / "perf.json"
    write_json([Row("x", 1.0, 2.0, "s", "ratio <= 1.0", "why"), Row("y", 3.0, None, "FLOP/s")], path)
    data = json.loads(path.read_text())
    assert isinstance(data, list) and len(data) == 2
    assert all(set(r) == ROW_KEYS for r in data)
    assert data[0]["ratio"] == pytest.approx(0.5) and data[0]["met"] is True
    assert data[1]["ratio"] is None and data[1]["met"] is None
    assert not list(path.parent.glob(".*tmp*"))  # written via a temporary file, none left behind


def test_interleaved_runs_cases_round_robin(monkeypatch):
    calls = []
    cases = {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}
    times = interleaved(cases, repeats=3, warmup=1, device="cpu")
    assert calls == ["a", "b"] * 4
    assert {k: len(v) for k, v in times.items()} == {"a": 3, "b": 3}
    assert median([3.0, 1.0, 2.0]) == 2.0


def test_synthetic_batch_shares_tokens_between_sft_and_pairs():
    cfg = PerfConfig(model="tiny-random", n_sequences=4, seq_len=16)
    pairs = synthetic_pairs(cfg, vocab_size=100, special_ids={0, 1, 2})
    assert len(pairs) == 2
    rows = sft_rows(pairs)
    assert len(rows) == 4 and all(len(p) + len(r) == 16 for p, r in rows)
    assert rows[0] == (pairs[0]["prompt_ids"], pairs[0]["chosen_ids"])
    assert rows[2] == (pairs[0]["prompt_ids"], pairs[0]["rejected_ids"])
    ids = [t for p, r in rows for t in p + r]
    assert min(ids) >= 3 and max(ids) < 100
    teacher = pairs[0]["chosen_teacher_topk"]
    assert teacher["ids"].shape == (12, 50)
    total = teacher["probs"].sum(-1) + teacher["tail"]
    assert total.sub(1).abs().max() < 1e-5


def test_config_rejects_odd_sequences():
    with pytest.raises(ValueError, match="even"):
        PerfConfig(n_sequences=3)


def test_training_rows_use_measured_values(monkeypatch):
    """Ratios come from the medians of what was timed and the peaks the children reported."""
    cfg = PerfConfig(model="tiny-random", n_sequences=2, seq_len=8, repeats=3, warmup=0)
    seconds = {name: float(i + 1) for i, name in enumerate(TRAIN_CASES)}
    peaks = {name: (i + 2) * 2**30 for i, name in enumerate(TRAIN_CASES)}

    class FakeModel:
        def parameters(self):
            import torch
            return [torch.zeros(10)]

    monkeypatch.setattr(perf_run, "load_tokenizer", lambda cfg: None)
    monkeypatch.setattr(perf_run, "make_pairs", lambda cfg, tok: [])
    monkeypatch.setattr(perf_run, "build_case", lambda cfg, name, pairs, tok: StepCase(name, lambda: None, 16, FakeModel()))
    monkeypatch.setattr(perf_run, "interleaved", lambda cases, *a, **k: {n: [seconds[n]] * 3 for n in cases})
    monkeypatch.setattr(perf_run, "measure_in_subprocess",
                        lambda name, config: {"peak_bytes": peaks[name], "setup_bytes": 2**30})
    rows = {r.name: r for r in perf_run.training_rows(cfg, flops=1e9, say=lambda _: None)}
    dpo = rows["DPO step time vs TRL DPOTrainer"]
    assert (dpo.ours, dpo.reference) == (seconds["dpo_ours"], seconds["dpo_trl"])
    assert dpo.ratio == pytest.approx(seconds["dpo_ours"] / seconds["dpo_trl"])
    mem = rows["DCKD step peak memory vs SFT"]
    assert mem.ratio == pytest.approx(peaks["dckd_ours"] / peaks["sft_ours"])
    mfu = rows["MFU sft_ours"]
    assert mfu.ratio == pytest.approx(6 * 10 * 16 / seconds["sft_ours"] / 1e9)
    redraw = rows["GKD on-policy step time vs cached samples"]
    assert redraw.ratio == pytest.approx(seconds["gkd_on_policy"] / seconds["gkd_ours"])
    assert rows["GKD on-policy step peak memory vs cached samples"].ratio == pytest.approx(
        peaks["gkd_on_policy"] / peaks["gkd_ours"])
    assert "MFU gkd_on_policy" not in rows  # its step is mostly generation, which the training FLOPs do not count


TINY = PerfConfig(model="tiny-random", n_sequences=4, seq_len=16)


def _tiny_cases(*names: str) -> dict:
    """Fresh cases on the tiny model, each from the same initial weights and the same pairs."""
    from bench.perf.cases import build_case, load_tokenizer, make_pairs

    tokenizer = load_tokenizer(TINY)
    pairs = make_pairs(TINY, tokenizer)
    return {name: build_case(TINY, name, pairs, tokenizer) for name in names}


def test_every_training_case_takes_finite_steps_on_the_same_tokens():
    """What `bench perf` times: every case builds from the shared pairs (the fields its method declares) and steps."""
    cases = _tiny_cases(*TRAIN_CASES)
    assert {c.tokens for c in cases.values()} == {TINY.n_sequences * TINY.seq_len}
    for name, case in cases.items():
        assert torch.isfinite(torch.as_tensor(case.step())), name


def test_gkd_on_policy_case_redraws_every_step():
    """The on-policy case trains on fresh samples at every step, of the cached samples' length: its ratio to the
    cached case is what the redraw costs, on the same tokens."""
    cfg = TINY
    cached, fresh = _tiny_cases("gkd_ours", "gkd_on_policy").values()
    assert cached.keep[0].on_policy is None
    first_cached, first_fresh = float(cached.step()), float(fresh.step())  # same initial weights, other samples
    assert first_fresh != pytest.approx(first_cached, rel=1e-6)
    fresh.step()
    sampler = fresh.keep[0].on_policy
    assert sampler.summary() == {"micro_batches": 2, "redrawn": 2, "processes": 1, "samples": 4,
                                 "mean_sample_tokens": cfg.response_len}


def test_peak_rss_is_positive():
    assert peak_rss_bytes() > 0


@pytest.mark.slow
def test_subprocess_memory_reports_positive_peak():
    from bench.perf.memory import measure_in_subprocess

    result = measure_in_subprocess("dckd_ours", PerfConfig(model="tiny-random", n_sequences=2, seq_len=16).to_dict())
    assert result["kind"] == "peak_rss"
    assert result["peak_bytes"] >= result["setup_bytes"] > 0
    assert result["tokens"] == 32


def test_cli_registers_perf_and_refuses_missing_cuda(monkeypatch):
    import torch

    from bench.cli import build_parser, main

    args = build_parser().parse_args(["perf", "--quick", "--json", "x.json"])
    assert args.quick and args.json == "x.json" and args.device == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main(["perf", "--device", "cuda"]) == 2


def test_generation_roofline_bound_by_hand():
    from bench.perf.run import generation_ratio_bound

    # 1M fp32 parameters, 1 GFLOP/s, 1 GB/s: a step reads 4 ms of weights; batch 1 computes 2 ms, batch 8 16 ms.
    assert generation_ratio_bound(10**6, 4, 1e9, 1e9, 8) == pytest.approx(8 * 4e-3 / 16e-3)
    # Weight traffic dominating at every batch: batching is free, the bound is the batch size.
    assert generation_ratio_bound(10**6, 4, 1e12, 1e6, 8) == pytest.approx(8.0)
    # Compute dominating even at batch 1: no speed-up at all.
    assert generation_ratio_bound(10**6, 4, 1e6, 1e12, 8) == pytest.approx(1.0)


def test_memory_bandwidth_is_a_positive_rate():
    from bench.perf.measure import memory_bandwidth

    assert memory_bandwidth("cpu", torch.float32, mib=8, repeats=3) > 1e6
