"""`make gpu-check`: is this GPU machine ready for the paper profile? Under 8 minutes on one GPU.

Steps (each a command; the summary says which passed, with its time):
  1. the methods tests (numerics, devices, precision, generation) on CUDA;
  2. the paper rehearsal (tests/test_paper_rehearsal.py) under the real precision policy: on a GPU its bf16 parts
     apply as in production;
  3. a short ADPA+ run of the offline Qwen2.5-Coder pair (1.5B teacher, 0.5B student) on fixture data;
  4. Hugging Face against vLLM greedy answers of the Qwen 0.5B student on a few prompts (fp32 both);
  5. `bench perf --device cuda --quick`.
Without a CUDA GPU it stops at once with exit code 1. ``--dry-run`` prints the commands and checks that each one
parses (pytest collects its tests, `bench run` and `bench perf` accept their arguments) without running them.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
QWEN_SETS = ["data.train_limit=8", "data.test_limit=4", "data.sft_limit=8", "topk.k=8",
             "lengths.sft={max_length: 256, max_prompt_length: 192}", "lengths.pairs={max_length: 256, max_prompt_length: 192}",
             "generation={max_new_tokens: 32, batch_size: 8}", "training.grad_accum=2", "training.warmup_ratio=0",
             *(f"stages.{s}.grad_accum=2" for s in ("ref_teacher", "dpo_teacher", "sft", "dpo")),
             "stages.ref_teacher.epochs=1", "stages.sft.epochs=1", "eval.benchmarks=[]", "eval.heldout=true"]


def steps(work: Path) -> list[tuple[str, list[str], list[str] | None]]:
    """(name, command, dry-run check command or None)."""
    methods_tests = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_methods_*.py"))
    qwen = [PY, "-m", "bench.cli", "run", "--profile", "paper", "--method", "adpa_plus", "--model", "qwen2.5-coder-0.5b",
            "--teacher", "qwen2.5-coder-1.5b", "--data-dir", str(work / "data"), "--cache-dir", str(work / "cache"),
            "--run-dir", str(work / "qwen-run")] + [a for s in QWEN_SETS for a in ("--set", s)]
    return [
        ("methods tests on CUDA", [PY, "-m", "pytest", "-q", "-m", "not slow", *methods_tests],
         [PY, "-m", "pytest", "-q", "--collect-only", *methods_tests]),
        ("paper rehearsal, real precision policy", [PY, "-m", "pytest", "-q", "tests/test_paper_rehearsal.py"],
         [PY, "-m", "pytest", "-q", "--collect-only", "tests/test_paper_rehearsal.py"]),
        ("ADPA+ on the Qwen2.5-Coder pair", qwen, None),
        ("HF vs vLLM greedy answers", [PY, str(Path(__file__).with_name("hf_vs_vllm.py")), "qwen2.5-coder-0.5b"], None),
        ("bench perf --device cuda", [PY, "-m", "bench.cli", "perf", "--device", "cuda", "--quick",
                                      "--json", str(work / "perf.json")], [PY, "-m", "bench.cli", "perf", "--help"]),
    ]


def run(cmd: list[str], env: dict, timeout: int) -> tuple[int, float]:
    start = time.monotonic()
    try:
        code = subprocess.run(cmd, cwd=ROOT, env=env, timeout=timeout).returncode
    except subprocess.TimeoutExpired:
        code = 124
    return code, time.monotonic() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dry-run", action="store_true", help="print and check the commands, run nothing")
    parser.add_argument("--timeout", type=int, default=240, help="seconds per step (default 240)")
    args = parser.parse_args(argv)
    import torch

    if not args.dry_run and not torch.cuda.is_available():
        print("gpu-check: FAILED: torch sees no CUDA GPU (torch.cuda.is_available() is False); this check needs one",
              file=sys.stderr)
        return 1
    work = Path(tempfile.mkdtemp(prefix="gpu-check-"))
    sys.path.insert(0, str(ROOT / "tests"))
    from paper_fixtures import build_data_dir

    build_data_dir(work / "data", Path(os.environ.get("BENCH_DATA_DIR", ROOT.parent / "shared" / "data")))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT), "TOKENIZERS_PARALLELISM": "false"}
    rows = []
    for name, cmd, check in steps(work):
        print(f"\n=== {name}\n$ {' '.join(cmd)}", flush=True)
        if args.dry_run:
            if check is None and "bench.cli" in cmd:
                check = cmd + ["--dry-run"]
            code, seconds = run(check, env, args.timeout) if check else (0, 0.0)
        else:
            code, seconds = run(cmd, env, args.timeout)
        rows.append((name, code, seconds))
    print("\ngpu-check summary" + (" (dry run: commands checked, not run)" if args.dry_run else ""))
    for name, code, seconds in rows:
        print(f"  {'ok  ' if code == 0 else 'FAIL'} {name:<42} {seconds:6.1f}s" + ("" if code == 0 else f"  (exit {code})"))
    return 0 if all(code == 0 for _, code, _ in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
