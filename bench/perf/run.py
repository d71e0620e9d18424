"""One `bench perf` run: every measurement, interleaved with its reference, turned into rows."""
from __future__ import annotations

import gc
import os
import tempfile
from pathlib import Path
from typing import Callable

import torch

from methods.batching import pad_sequences
from methods.devices import to_model_device
from methods.generate import generate_ids
from methods.topk import DEFAULT_K, TopKStore, batches_by_length, precompute_teacher_topk

from .cases import (NO_EOS, TRAIN_CASES, PerfConfig, build_case, load_model, load_tokenizer, make_pairs, parameter_count,
                    sft_rows, silence_no_eos_warning)
from .measure import interleaved, load_average, matmul_flops, median, memory_bandwidth
from .memory import measure_in_subprocess
from .rows import Row

Say = Callable[[str], None]
GIB = 2**30


def training_rows(cfg: PerfConfig, flops: float, say: Say) -> list[Row]:
    tokenizer = load_tokenizer(cfg)
    pairs = make_pairs(cfg, tokenizer)
    cases = {}
    for name in TRAIN_CASES:
        say(f"building {name}")
        cases[name] = build_case(cfg, name, pairs, tokenizer)
    params = parameter_count(cases["sft_ours"].model)
    tokens = {name: c.tokens for name, c in cases.items()}
    if len(set(tokens.values())) != 1:
        raise RuntimeError(f"training cases disagree on the tokens per step: {tokens}")
    times = interleaved({n: c.step for n, c in cases.items()}, cfg.repeats, cfg.warmup, cfg.device, say)
    step = {n: median(t) for n, t in times.items()}
    del cases
    gc.collect()

    memory = {}
    for name in TRAIN_CASES:
        say(f"memory of {name} (fresh process)")
        memory[name] = measure_in_subprocess(name, cfg.to_dict())
    peak = {n: m["peak_bytes"] / GIB for n, m in memory.items()}
    step_mem = {n: (m["peak_bytes"] - m["setup_bytes"]) / GIB for n, m in memory.items()}

    n_tok = next(iter(tokens.values()))
    reps = f"median of {cfg.repeats} interleaved steps after {cfg.warmup} warm-up"
    mem_kind = "peak RSS of a fresh process" if cfg.device == "cpu" else "torch.cuda.max_memory_allocated"
    rows = [
        Row("SFT step time vs TRL SFTTrainer", step["sft_ours"], step["sft_trl"], "s/step", "ratio <= 1.0", reps),
        Row("DPO step time vs TRL DPOTrainer", step["dpo_ours"], step["dpo_trl"], "s/step", "ratio <= 0.7",
            reps + "; reference log-probs precomputed on both sides"),
        Row("SFT tokens/s vs TRL", n_tok / step["sft_ours"], n_tok / step["sft_trl"], "tokens/s", None, f"{n_tok} tokens/step"),
        Row("DPO tokens/s vs TRL", n_tok / step["dpo_ours"], n_tok / step["dpo_trl"], "tokens/s", None, f"{n_tok} tokens/step"),
        Row("SFT step peak memory vs TRL", peak["sft_ours"], peak["sft_trl"], "GiB", None, mem_kind),
        Row("DPO step peak memory vs TRL", peak["dpo_ours"], peak["dpo_trl"], "GiB", None,
            mem_kind + " (TRL's process also holds its reference model)"),
        Row("DCKD step time vs our SFT step", step["dckd_ours"], step["sft_ours"], "s/step", "ratio <= 1.3", reps + "; same tokens"),
        Row("ADPA step time vs our SFT step", step["adpa_ours"], step["sft_ours"], "s/step", "ratio <= 1.3", reps + "; same tokens"),
        Row("DCKD step peak memory vs SFT", peak["dckd_ours"], peak["sft_ours"], "GiB", "ratio <= 1.2", mem_kind),
        Row("ADPA step peak memory vs SFT", peak["adpa_ours"], peak["sft_ours"], "GiB", "ratio <= 1.2", mem_kind),
        Row("DCKD step's own memory vs SFT's", step_mem["dckd_ours"], step_mem["sft_ours"], "GiB", None,
            "peak minus the peak before the first step (optimizer state + activations + loss)"),
        Row("ADPA step's own memory vs SFT's", step_mem["adpa_ours"], step_mem["sft_ours"], "GiB", None,
            "peak minus the peak before the first step (optimizer state + activations + loss)"),
        Row("GKD step time vs our SFT step", step["gkd_ours"], step["sft_ours"], "s/step", None,
            reps + "; same tokens; GKD on cached samples (its default)"),
        Row("GKD on-policy step time vs cached samples", step["gkd_on_policy"], step["gkd_ours"], "s/step", None,
            reps + f"; resample_every=1: every step first samples {cfg.n_sequences // 2} x {cfg.response_len} tokens "
            "from the student (KV cache, batch = the micro-batch) and takes a frozen teacher's top-K on them (the "
            "measured model stands in for the teacher)"),
        Row("GKD on-policy step peak memory vs cached samples", peak["gkd_on_policy"], peak["gkd_ours"], "GiB", None,
            mem_kind + " (the on-policy process also holds the frozen teacher)"),
    ]
    for name in TRAIN_CASES:
        if name == "gkd_on_policy":  # most of its step is generation, which 6 x P x tokens does not count
            continue
        achieved = 6 * params * n_tok / step[name]
        rows.append(Row(f"MFU {name}", achieved, flops, "FLOP/s", None,
                        f"6 x {params} parameters x {n_tok} tokens / step time, against the measured matmul rate"))
    return rows


def precompute_rows(cfg: PerfConfig, say: Say) -> list[Row]:
    tokenizer = load_tokenizer(cfg)
    model = load_model(cfg).eval()
    examples = [{"prompt_ids": p, "response_ids": r} for p, r in sft_rows(make_pairs(cfg, tokenizer))]
    pad = tokenizer.pad_token_id
    max_tokens = 4096
    batches = [pad_sequences([examples[i]["prompt_ids"] for i in idx], [examples[i]["response_ids"] for i in idx], pad)
               for idx in batches_by_length(examples, max_tokens)]
    batches = [to_model_device(b, model) for b in batches]
    response_tokens = sum(int((b["labels"] != -100).sum()) for b in batches)
    stores: list[TopKStore] = []

    @torch.no_grad()
    def bare() -> None:
        for b in batches:
            model(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).logits

    def topk() -> None:
        stores.append(precompute_teacher_topk(model, examples, pad, k=DEFAULT_K, max_tokens=max_tokens))

    times = interleaved({"topk": topk, "bare": bare}, cfg.repeats, cfg.warmup, cfg.device, say)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "store.safetensors"
        stores[-1].save(path)
        stored = path.stat().st_size / len(stores[-1].tokens)
    full = model.config.vocab_size * 2
    reps = f"median of {cfg.repeats}, interleaved; {response_tokens} response tokens per pass"
    return [
        Row("teacher top-K precompute vs bare forward", response_tokens / median(times["topk"]),
            response_tokens / median(times["bare"]), "tokens/s", "ratio >= 0.9", reps),
        Row(f"top-{DEFAULT_K} store vs full-vocab fp16", stored, full, "bytes/token", "ratio <= 0.01",
            "safetensors file size / stored tokens, against vocab x 2 bytes"),
    ]


def generation_rows(cfg: PerfConfig, flops: float, say: Say) -> list[Row]:
    silence_no_eos_warning()
    tokenizer = load_tokenizer(cfg)
    model = load_model(cfg).eval()
    # gen_batch distinct prompts of prompt_len tokens (response rows cut to prompt length)
    rows = [r[: cfg.prompt_len] for _, r in sft_rows(make_pairs(cfg, tokenizer))]
    prompts = [rows[i % len(rows)] for i in range(cfg.gen_batch)]
    produced: dict[str, int] = {}

    def run(batch_size: int) -> Callable[[], None]:
        def go() -> None:
            # NO_EOS: both sides generate exactly gen_new_tokens per prompt
            out = generate_ids(model, prompts, tokenizer.pad_token_id, NO_EOS, cfg.gen_new_tokens, batch_size, backend="hf")
            produced[f"batch {batch_size}"] = sum(len(o) for o in out)
        return go

    times = interleaved({f"batch {cfg.gen_batch}": run(cfg.gen_batch), "batch 1": run(1)}, cfg.repeats, cfg.warmup,
                        cfg.device, say)
    rate = {k: produced[k] / median(t) for k, t in times.items()}
    measured = rate[f"batch {cfg.gen_batch}"] / rate["batch 1"]
    say("memory bandwidth")
    bandwidth = memory_bandwidth(cfg.device, cfg.dtype)
    bound = generation_ratio_bound(parameter_count(model), torch.finfo(cfg.dtype).bits // 8,
                                   flops, bandwidth, cfg.gen_batch)
    return [Row(f"generation batch {cfg.gen_batch} vs batch 1", rate[f"batch {cfg.gen_batch}"], rate["batch 1"],
                "tokens/s", "ratio >= 4", f"{len(prompts)} prompts x {cfg.gen_new_tokens} new tokens, greedy, KV cache"),
            Row("machine read bandwidth", bandwidth, None, "bytes/s", None, "sum of a 256 MiB tensor"),
            Row("generation speed-up vs this machine's roofline bound", measured, bound, "x", None,
                "bound = b*max(2P/F, sP/B) / max(b*2P/F, sP/B): decode reads every weight (s bytes each) once per step "
                "and does 2P FLOPs per token; F matmul rate, B read bandwidth")]


def generation_ratio_bound(params: int, bytes_per_param: int, flops: float, bandwidth: float, batch: int) -> float:
    """The largest batch-vs-1 tokens/s ratio a roofline allows: one decode step costs the larger of its compute
    (2 FLOPs per parameter per sequence) and its weight traffic (every weight read once, whatever the batch)."""
    weights = params * bytes_per_param / bandwidth
    step = lambda b: max(b * 2 * params / flops, weights)  # noqa: E731
    return batch * step(1) / step(batch)


def run_all(cfg: PerfConfig, say: Say = lambda _: None) -> list[Row]:
    torch.manual_seed(cfg.seed)
    load_before = load_average()
    say("matmul rate")
    flops = matmul_flops(cfg.device, cfg.dtype)
    rows = [Row(f"machine {str(cfg.dtype).removeprefix('torch.')} matmul", flops, None, "FLOP/s", None,
                f"1024x1024 matmul, {torch.get_num_threads()} threads, device {cfg.device}")]
    rows += training_rows(cfg, flops, say)
    gc.collect()
    rows += precompute_rows(cfg, say)
    gc.collect()
    rows += generation_rows(cfg, flops, say)
    rows.append(Row("load average (1 min) after vs before", load_average(), load_before, "load", None,
                    f"{os.cpu_count()} CPUs; other work on the machine slows both sides of every ratio alike"))
    return rows
