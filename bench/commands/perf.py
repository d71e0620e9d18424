"""`bench perf`: time and measure our training steps, precompute and generation beside the references (arguments:
bench/arguments/perf.py)."""
from __future__ import annotations

import time

import torch
from rich.console import Console

from bench.perf.cases import DANUBE_ALIAS, PerfConfig
from bench.perf.rows import print_table, write_json
from bench.perf.run import run_all

# --quick: a quarter of the default tokens per step (4 x 64), to finish in minutes on a 2-core CPU.
QUICK = dict(n_sequences=4, seq_len=64, gen_new_tokens=16)


def run(args) -> int:
    if args.device == "cuda" and not torch.cuda.is_available():
        print("bench perf: --device cuda asked for, but torch sees no CUDA device")
        return 2
    settings = dict(QUICK) if args.quick else {}
    if args.seq_len is not None:
        settings["seq_len"] = args.seq_len
    if args.sequences is not None:
        settings["n_sequences"] = args.sequences
    model = args.model or (DANUBE_ALIAS if args.device == "cuda" else "smollm2-8l")
    cfg = PerfConfig(model=model, device=args.device, repeats=args.repeats, **settings)
    console = Console(stderr=True)
    start = time.perf_counter()
    with console.status("bench perf") as status:
        rows = run_all(cfg, say=lambda text: status.update(f"bench perf: {text}"))
    title = (f"bench perf: {cfg.model}, {cfg.device} {str(cfg.dtype).removeprefix('torch.')}, {cfg.n_sequences} x "
             f"{cfg.seq_len} tokens, median of {cfg.repeats} ({time.perf_counter() - start:.0f} s)")
    print_table(rows, title)
    if args.json:
        write_json(rows, args.json)
        print(f"wrote {args.json}")
    return 0
