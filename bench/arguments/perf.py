"""`bench perf`: training, teacher-precompute and generation speed and memory, side by side with references."""
from __future__ import annotations

from .types import whole_number


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
    p.set_defaults(func=main)


def main(args) -> int:
    from bench.commands.perf import run  # deferred: the cases import torch and transformers (seconds)

    return run(args)
