"""`bench perf`: training, teacher-precompute and generation speed and memory, side by side with references."""
from __future__ import annotations

from .args import whole_number

# --quick: a quarter of the default tokens per step (4 x 64), to finish in minutes on a 2-core CPU.
QUICK = dict(n_sequences=4, seq_len=64, gen_new_tokens=16)


def register(sub) -> None:
    p = sub.add_parser("perf", help="speed and memory of our training steps, precompute and generation vs TRL and the machine")
    p.add_argument("--quick", action="store_true", help="fewer, shorter sequences (4 x 64 tokens) and generations (16 tokens)")
    p.add_argument("--model", default=None,
                   help="model alias or folder (default: smollm2-8l on CPU, danube3-500m-random on cuda: Danube3-500M's "
                        "shape with random weights, built from a config)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--sequences", type=whole_number(2), default=None, help="sequences per training step, pairs = half (default 8, 4 with --quick)")
    p.add_argument("--seq-len", type=whole_number(2), default=None, help="tokens per sequence (default 256, 64 with --quick)")
    p.add_argument("--repeats", type=whole_number(1), default=5, help="timed repetitions per case (median reported)")
    p.add_argument("--json", metavar="FILE", default=None, help="also write the rows as JSON (list of rows)")
    p.set_defaults(func=run)


def run(args) -> int:
    import time  # deferred: keeps bench --help fast

    import torch
    from rich.console import Console

    from bench.perf.cases import DANUBE_ALIAS, PerfConfig
    from bench.perf.rows import print_table, write_json
    from bench.perf.run import run_all

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
