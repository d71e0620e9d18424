"""Peak memory of one training case, measured in a fresh Python process so cases cannot inflate each other.

CPU: the child's peak resident set size (``ru_maxrss``), whole process: interpreter, libraries, model, AdamW
state and the step's activations. Also reported: the peak before the first step (model and batch loaded), so
the step's own share is ``peak - setup``. GPU: ``torch.cuda.max_memory_allocated`` (and the allocation
before the first step). The child runs two steps: the first creates the optimizer state.

Run as ``python -m bench.perf.memory CASE CONFIG_JSON``; prints one JSON object on its last line.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .cases import PerfConfig, build_case, load_tokenizer, make_pairs
from .measure import peak_rss_bytes, sync

STEPS = 2


def measure_in_subprocess(case: str, config: dict, timeout: float = 1800) -> dict:
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, "-m", "bench.perf.memory", case, json.dumps(config)], capture_output=True,
                          text=True, timeout=timeout, env=env, cwd=root)
    if proc.returncode != 0:
        raise RuntimeError(f"memory measurement of {case} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"memory measurement of {case} printed no result:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return json.loads(lines[-1])


def _child(case_name: str, config: dict) -> dict:
    import torch

    cfg = PerfConfig(**config)
    cuda = cfg.device.startswith("cuda")
    tokenizer = load_tokenizer(cfg)
    case = build_case(cfg, case_name, make_pairs(cfg, tokenizer), tokenizer)
    sync(cfg.device)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
        setup = torch.cuda.memory_allocated()
    else:
        setup = peak_rss_bytes()
    for _ in range(STEPS):
        case.step()
    sync(cfg.device)
    peak = torch.cuda.max_memory_allocated() if cuda else peak_rss_bytes()
    return {"case": case_name, "peak_bytes": int(peak), "setup_bytes": int(setup),
            "kind": "cuda_max_allocated" if cuda else "peak_rss", "tokens": case.tokens}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m bench.perf.memory CASE CONFIG_JSON", file=sys.stderr)
        return 2
    print(json.dumps(_child(argv[0], json.loads(argv[1]))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
