"""Timing helpers: interleaved repetitions, medians, the machine's matmul rate, peak memory."""
from __future__ import annotations

import resource
import statistics
import sys
import time
from typing import Callable

import torch


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed(fn: Callable[[], object], device: str) -> float:
    sync(device)
    start = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - start


def interleaved(cases: dict[str, Callable[[], object]], repeats: int, warmup: int, device: str,
                progress: Callable[[str], None] | None = None) -> dict[str, list[float]]:
    """Seconds per call for every case, run round-robin so a change in machine load hits all cases alike."""
    for _ in range(warmup):
        for name, fn in cases.items():
            if progress:
                progress(f"warm-up {name}")
            fn()
    times: dict[str, list[float]] = {name: [] for name in cases}
    for rep in range(repeats):
        for name, fn in cases.items():
            if progress:
                progress(f"{name} {rep + 1}/{repeats}")
            times[name].append(timed(fn, device))
    return times


def median(values: list[float]) -> float:
    return statistics.median(values)


def matmul_flops(device: str, dtype: torch.dtype, n: int = 1024, repeats: int = 5) -> float:
    """Dense n x n matmul FLOP/s (2 n^3 per product), median of ``repeats`` timed runs after a warm-up."""
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    inner = 10 if device.startswith("cuda") else 1  # one GPU matmul is too short to time alone
    run = lambda: [a @ b for _ in range(inner)]
    run()
    times = [timed(run, device) for _ in range(repeats)]
    return 2 * n**3 * inner / median(times)


def memory_bandwidth(device: str, dtype: torch.dtype, mib: int = 256, repeats: int = 5) -> float:
    """Read bandwidth in bytes/s: summing a tensor far larger than the caches, median of ``repeats`` runs."""
    x = torch.ones(mib * 2**20 * 8 // torch.finfo(dtype).bits, device=device, dtype=dtype)
    run = lambda: x.sum()  # noqa: E731
    run()
    return x.numel() * x.element_size() / median([timed(run, device) for _ in range(repeats)])


def peak_rss_bytes() -> int:
    """This process's peak resident set size.

    Linux: VmHWM from /proc/self/status, because ru_maxrss of a freshly started child also counts the parent's
    peak at fork time (it survives exec), which would hide the child's own peak. Elsewhere ru_maxrss.
    """
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def load_average() -> float | None:
    try:
        import os

        return os.getloadavg()[0]
    except (OSError, AttributeError):
        return None
