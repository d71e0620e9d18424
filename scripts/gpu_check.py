"""`make gpu-check`: is this GPU machine ready for the paper profile? Under 8 minutes on one GPU (budget below).

One table, one row per check (issue 21 names the defect each one exercises on a GPU):
  1. device: compute capability, whether the policy uses bf16 there (>= 8.0, else fp32, said in the log: item 6), the
     cuBLAS workspace for deterministic runs (item 6);
  2. the methods tests on CUDA (tests/test_methods_*.py, not slow): every device-dependent test takes the GPU from the
     ``device`` fixture (item 4), including the device-constant scan (item 1), the DeepSpeed dtype path (item 2), the
     capability and sync checks (item 6) and the generation settings (item 5);
  3. per method (SFT, DPO, DCKD, ADPA, ADPA+) on the offline Qwen2.5-Coder pair (0.5B student, 1.5B teacher): the
     teacher's top-K and the advantages precomputed on the GPU (the clamp of item 1 on CUDA), the loss of one batch
     under bf16 autocast on the GPU against the fp32 CPU loss of the same batch and weights, within
     LOSS_RTOL * |fp32 loss| + LOSS_ATOL, then TRAIN_STEPS optimiser steps through the Trainer under bf16 autocast,
     every logged loss finite;
  4. ZeRO-3's bf16 weights against the policy on one batch of the Qwen student (item 3: a measurement, reported);
  5. vLLM against Hugging Face greedy answers of the Qwen student (fp32 both) on N_PROMPTS prompts: the first
     MUST_MATCH tokens of every answer equal (item 5: both built from methods.sampling's one set of settings).
Without a CUDA GPU it stops at once with exit code 1. ``--dry-run`` runs the same checks on the CPU with the tiny
random pair (bf16 autocast rehearsed with precision.cpu_bf16), collects the methods tests without running them, and
builds vLLM's request settings without vLLM: it needs no GPU and no Qwen weights.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import io
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "scripts")]
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # before any CUDA matmul (bench.pipeline.context)

METHOD_NAMES = ("sft", "dpo", "dckd", "adpa", "adpa_plus")
QWEN = ("qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b")
TINY = ("tiny-random", "tiny-random-teacher")
PAIRS = 8  # preference pairs in the compared batch
TRAIN_STEPS = 3
DRY_PAIRS, DRY_STEPS = 4, 1  # the dry run on two CPU cores: the same code, less of it
# bf16 autocast against fp32 on one batch. Measured on the CPU (SmolLM2-135M, 8 pairs, scripts/zero3_precision_effect.py):
# SFT's NLL moved by 0.12 % and DPO's loss by 0.003; the bound leaves 15x room for a larger model and GPU kernels while
# still catching a loss computed from bf16 logits, a wrong device or a dropped term (all >= 10 %).
LOSS_RTOL, LOSS_ATOL = 0.02, 0.01
N_PROMPTS, MUST_MATCH, MAX_NEW = 20, 16, 48
BUDGET_S = {"methods tests on CUDA": 240, "vllm": 150}  # the rest takes about a minute and a half on an 80 GB GPU
PROMPTS = [
    "Write a Python function that reverses a string.", "What is the capital of France?", "Explain recursion in one sentence.",
    "List three prime numbers.", "Write a SQL query that counts the rows of a table named users.",
    "What does HTTP status 404 mean?", "Give a one-line bash command that counts the lines of a file.",
    "What is a Python list comprehension? Give an example.", "Convert 100 degrees Fahrenheit to Celsius.",
    "Name two sorting algorithms and their time complexity.", "What is the difference between a process and a thread?",
    "Write a haiku about the sea.", "What does the acronym CPU stand for?", "How many bytes are in a kilobyte?",
    "Write a JavaScript function that adds two numbers.", "What is the boiling point of water at sea level?",
    "Explain what a hash table is in two sentences.", "Give an example of a regular expression that matches digits.",
    "What is git used for?", "Write a Python one-liner that sums the numbers from 1 to 100.",
]


class Table:
    def __init__(self):
        self.rows: list[tuple[str, str, str, float]] = []

    def add(self, check: str, ok: bool | None, detail: str, seconds: float) -> None:
        status = "skip" if ok is None else "ok" if ok else "FAIL"
        self.rows.append((check, status, detail, seconds))
        print(f"  {status:<4} {check}: {detail} ({seconds:.1f}s)", flush=True)

    def print(self, title: str) -> None:
        width = max(len(r[0]) for r in self.rows)
        print(f"\n{title}\n{'check':<{width}}  result  {'seconds':>7}  measured")
        for check, status, detail, seconds in self.rows:
            print(f"{check:<{width}}  {status:<6}  {seconds:7.1f}  {detail}")

    @property
    def ok(self) -> bool:
        return all(r[1] != "FAIL" for r in self.rows)


def timed(table: Table, check: str, fn) -> None:
    """Run one check; an exception is that check's failure (one line), not the script's."""
    start = time.monotonic()
    try:
        ok, detail = fn()
    except Exception as err:  # noqa: BLE001 - every failure of a check is reported in its row
        ok, detail = False, f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
    table.add(check, ok, detail, time.monotonic() - start)


def check_device(dry: bool):
    import torch

    from methods.precision import Precision

    if dry:
        return True, f"CPU (dry run); CUBLAS_WORKSPACE_CONFIG={os.environ['CUBLAS_WORKSPACE_CONFIG']}"
    major, minor = torch.cuda.get_device_capability()
    bf16 = Precision().bf16_on("cuda")
    return True, (f"{torch.cuda.get_device_name()} capability {major}.{minor}: policy uses "
                  f"{'bf16 autocast' if bf16 else 'fp32 (no native bf16)'}; CUBLAS_WORKSPACE_CONFIG={os.environ['CUBLAS_WORKSPACE_CONFIG']}")


def check_methods_tests(dry: bool):
    tests = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_methods_*.py"))
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not slow", *tests]
    if dry:
        cmd.insert(4, "--collect-only")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    try:
        out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=BUDGET_S["methods tests on CUDA"])
    except subprocess.TimeoutExpired:
        return False, f"over {BUDGET_S['methods tests on CUDA']}s"
    last = (out.stdout.strip().splitlines() or ["(no output)"])[-1]
    if out.returncode != 0:
        failed = [line for line in out.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))][:3]
        last += " | " + " | ".join(failed)
    return out.returncode == 0, f"{len(tests)} files: {last}"


def _models(dry: bool, device: str):
    from bench.models import load_model, load_tokenizer

    student_name, teacher_name = TINY if dry else QWEN
    import torch

    torch.manual_seed(0)
    base_cpu = load_model(student_name, "trainable", device="cpu")
    teacher = load_model(teacher_name, "frozen", device=device, dtype=torch.float32)
    return load_tokenizer(student_name), base_cpu, teacher


def check_method(name: str, tokenizer, base_cpu, teacher, device: str, dry: bool, work: Path):
    import torch

    from methods.base import LossConfig
    from methods.devices import to_model_device
    from methods.precision import Precision, autocast
    from methods.registry import get_method
    from methods.trainer import train, training_arguments
    from methods_helpers import examples_for

    method, pad, cfg = get_method(name), tokenizer.pad_token_id, LossConfig(beta=0.1)
    pairs, steps = (DRY_PAIRS, DRY_STEPS) if dry else (PAIRS, TRAIN_STEPS)
    student = copy.deepcopy(base_cpu).to(device)
    examples = examples_for(name, tokenizer, student, teacher, n=pairs)  # precomputes on ``device`` (item 1 on CUDA)
    batch = method.collator(pad)(examples)
    with torch.no_grad():
        cpu_loss = float(method.compute_loss(base_cpu, batch, cfg)[0])
        policy = Precision(cpu_bf16=dry)
        with autocast(policy.train_autocast(device), device):
            dev_loss = float(method.compute_loss(student, to_model_device(batch, student), cfg)[0])
    bound = LOSS_RTOL * abs(cpu_loss) + LOSS_ATOL
    args = training_arguments(str(work / name), learning_rate=1e-6, precision=policy, batch_size=4, grad_accum=1,
                              max_steps=steps, warmup_ratio=0.0, scheduler="constant", logging_steps=1,
                              use_cpu=device == "cpu")
    with contextlib.redirect_stdout(io.StringIO()):  # the Trainer prints a dict per logging step
        trainer = train(method, student, examples, pad, cfg, args)
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    finite = len(losses) == steps and all(math.isfinite(x) for x in losses)
    ok = abs(dev_loss - cpu_loss) <= bound and finite and args.bf16 == policy.train_autocast(device)
    return ok, (f"fp32 CPU {cpu_loss:.5f}, {'bf16 autocast' if args.bf16 else 'fp32'} {device} {dev_loss:.5f}, "
                f"|d| {abs(dev_loss - cpu_loss):.1e} <= {bound:.1e}; {steps} step(s), losses "
                + ", ".join(f"{x:.4f}" for x in losses))


def check_zero3(tokenizer, base_cpu, device: str, dry: bool):
    from zero3_precision_effect import NUMERICS, measure

    results = measure(copy.deepcopy(base_cpu).to(device), tokenizer, n_pairs=DRY_PAIRS if dry else PAIRS)
    fp32, policy, zero3 = (results[n] for n in NUMERICS)
    finite = all(math.isfinite(v) for r in results.values() for v in r.values())
    return finite, (f"SFT NLL fp32 {fp32['sft_nll']:.5f} policy {policy['sft_nll']:.5f} zero3 {zero3['sft_nll']:.5f}; "
                    f"step-0 DPO margin policy {policy['dpo_margin']:.1e} zero3 {zero3['dpo_margin']:.1e}")


def check_vllm(tokenizer, base_cpu, device: str, dry: bool):
    from methods.generate import generate_ids
    from methods.sampling import GenerationSettings, hf_generate_kwargs, hf_view, vllm_sampling_kwargs
    from methods.tokenize import encode_prompt

    settings = GenerationSettings(MAX_NEW, tokenizer.eos_token_id, 0.0, 1.0)
    theirs = vllm_sampling_kwargs(settings, None)
    view = hf_view(hf_generate_kwargs(settings), None)
    same = view == {k: theirs[k] for k in view}
    if dry:
        return same, f"HF and vLLM settings equal: {same}; vLLM not run (dry run)"
    prompts = [encode_prompt(tokenizer, [{"role": "user", "content": p}]) for p in PROMPTS[:N_PROMPTS]]
    model = copy.deepcopy(base_cpu).to(device).eval()
    args = dict(pad_id=tokenizer.pad_token_id, eos_id=tokenizer.eos_token_id, max_new_tokens=MAX_NEW)
    hf = generate_ids(model, prompts, backend="hf", batch_size=N_PROMPTS, **args)
    vllm = generate_ids(model, prompts, backend="vllm", **args)
    first = [next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)) if len(a) != len(b) else None)
             for a, b in zip(hf, vllm)]
    agree = sum(f is None or f >= MUST_MATCH for f in first)
    identical = sum(f is None for f in first)
    return same and agree == len(prompts), (f"{agree}/{len(prompts)} agree on the first {MUST_MATCH} tokens "
                                            f"({identical} identical to {MAX_NEW}); settings equal: {same}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dry-run", action="store_true", help="the same checks on the CPU with the tiny models")
    parser.add_argument("--skip-tests", action="store_true", help="leave out the methods tests (row 2)")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch

    if not args.dry_run and not torch.cuda.is_available():
        print("gpu-check: FAILED: torch sees no CUDA GPU (torch.cuda.is_available() is False); this check needs one "
              "(`python scripts/gpu_check.py --dry-run` runs it on the CPU with tiny models)", file=sys.stderr)
        return 1
    dry, device = args.dry_run, "cpu" if args.dry_run else "cuda"
    from bench.progress import quiet_libraries

    quiet_libraries()
    table, work = Table(), Path(tempfile.mkdtemp(prefix="gpu-check-"))
    start = time.monotonic()
    timed(table, "device", lambda: check_device(dry))
    if not args.skip_tests:
        timed(table, "methods tests on CUDA" + (" (collected only)" if dry else ""), lambda: check_methods_tests(dry))
    loaded: dict = {}
    timed(table, f"load {'tiny pair' if dry else 'Qwen2.5-Coder pair'}",
          lambda: (loaded.setdefault("m", _models(dry, device)) is not None, f"{(TINY if dry else QWEN)[0]} / {(TINY if dry else QWEN)[1]}"))
    if "m" in loaded:
        tokenizer, base_cpu, teacher = loaded["m"]
        for name in METHOD_NAMES:
            timed(table, f"{name}: loss vs fp32 CPU, {DRY_STEPS if dry else TRAIN_STEPS} step(s)",
                  lambda name=name: check_method(name, tokenizer, base_cpu, teacher, device, dry, work))
        timed(table, "zero3 bf16 weights vs policy (measured)", lambda: check_zero3(tokenizer, base_cpu, device, dry))
        timed(table, f"vLLM vs HF greedy, {N_PROMPTS} prompts", lambda: check_vllm(tokenizer, base_cpu, device, dry))
    table.print(f"gpu-check {'dry run on the CPU (tiny models)' if dry else 'on ' + torch.cuda.get_device_name()}: "
                f"{time.monotonic() - start:.0f}s; loss bound {LOSS_RTOL} x |fp32 loss| + {LOSS_ATOL}")
    return 0 if table.ok else 1


if __name__ == "__main__":
    sys.exit(main())
