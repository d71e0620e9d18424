"""Runs a plan: cached stages are skipped, the rest computed into temporary dirs and committed in order."""
from __future__ import annotations

import gc
import logging
import os
import tempfile
import time
from pathlib import Path

from bench.errors import UsageError, with_path

from .context import RunContext
from .plan import closure
from .stages import RUNNERS

log = logging.getLogger("bench.run")


def _cached_row(ctx: RunContext, name: str, key: str) -> dict:
    manifest = ctx.cache.manifest(name, key)
    return {"stage": name, "status": "cached", "wall_time_s": manifest.get("wall_time_s"), "cpu_time_s": manifest.get("cpu_time_s"),
            "dir": str(ctx.cache.final_dir(name, key)), "summary": manifest.get("summary", {})}


def _failed_benchmarks(ctx: RunContext, name: str) -> list[str]:
    """The benchmarks a cached evaluation stage lost (a missing data directory, a judge server that died): the next
    run evaluates that stage again instead of keeping the gap for good."""
    stage = ctx.plan[name]
    if stage.kind != "eval":
        return []
    return list(ctx.cache.manifest(name, stage.key).get("summary", {}).get("failed") or [])


def _run_stage(ctx: RunContext, name: str, replace: bool = False) -> dict:
    stage = ctx.plan[name]
    tmp = ctx.cache.begin(name, stage.key)
    log.info("[%s] running into %s", name, tmp)
    start, cpu_start = time.monotonic(), time.process_time()
    try:
        summary = RUNNERS[stage.kind](ctx, stage, tmp)
    except BaseException as err:
        log.exception("[%s] failed; its temporary directory %s is removed", name, tmp)
        ctx.cache.abandon(tmp)
        named = with_path(err, tmp)  # disk full while saving a model: the error names no file otherwise
        if named is err:
            raise
        raise named from err
    wall, cpu = time.monotonic() - start, time.process_time() - cpu_start
    manifest = {"kind": stage.kind, "role": stage.role, "config": stage.config, "deps": stage.deps,
                "dep_keys": {r: ctx.plan[d].key for r, d in stage.deps.items()}, "base_model": stage.base_model,
                "seed": ctx.seed, "wall_time_s": round(wall, 2), "cpu_time_s": round(cpu, 2), "summary": summary}
    final = ctx.cache.commit(name, stage.key, tmp, manifest, replace=replace)
    ctx.reporter.console.print(f"{name:<18} done     {wall:7.1f}s (cpu {cpu:.1f}s)")
    log.info("[%s] done in %.1fs: %s", name, wall, summary)
    return {"stage": name, "status": "ran", "wall_time_s": round(wall, 2), "cpu_time_s": round(cpu, 2), "dir": str(final),
            "summary": summary}


class StageSelectionError(UsageError):
    """--only-stage names a stage the plan lacks, whose inputs are not cached, or that cannot run in several processes."""


def world() -> tuple[int, int]:
    """(rank, number of processes) of an ``accelerate launch`` / torchrun launch, read from its environment."""
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def check_only_stage(ctx: RunContext, name: str) -> None:
    if name not in ctx.plan:
        raise StageSelectionError(f"--only-stage {name}: not a stage of this plan; its stages: {', '.join(ctx.plan)}")
    missing = [d for d in closure(ctx.plan, name)[:-1] if not ctx.cache.is_done(d, ctx.plan[d].key)]
    if missing:
        raise StageSelectionError(f"--only-stage {name}: its inputs are not cached yet: {', '.join(missing)} "
                                  f"(run those first, e.g. --only-stage {missing[0]})")


def _run_in_every_process(ctx: RunContext, name: str, rank: int) -> dict:
    """A training stage under a launch with several processes: every process trains (DDP / ZeRO-3 / FSDP need them
    all); process 0 alone takes the stage lock, writes into the cache and commits, the others into a scratch folder."""
    stage = ctx.plan[name]
    if ctx.cache.is_done(name, stage.key):
        return _cached_row(ctx, name, stage.key)
    if rank == 0:
        with ctx.cache.lock(name, stage.key):
            return _run_stage(ctx, name)
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-rank{rank}-") as scratch:
        summary = RUNNERS[stage.kind](ctx, stage, Path(scratch))
    return {"stage": name, "status": f"ran (process {rank})", "wall_time_s": None, "dir": None, "summary": summary}


def execute(ctx: RunContext, only: str | None = None) -> list[dict]:
    """One row per stage: name, status ("cached" / "ran"), wall time, artifact directory, summary. ``only``: that
    stage alone (its inputs must be cached), the one way to run a training stage in several processes."""
    rank, processes = world()
    if only:
        check_only_stage(ctx, only)
    if processes > 1 and (not only or ctx.plan[only].kind != "train"):
        raise StageSelectionError(f"bench run in {processes} processes: name one training stage with --only-stage "
                                  "(e.g. dpo_teacher); every other stage runs in a single process")
    if processes > 1:
        return [_run_in_every_process(ctx, only, rank)]
    rows = []
    console = ctx.reporter.console
    names = [only] if only else list(ctx.plan)
    for index, name in enumerate(names, 1):
        stage = ctx.plan[name]
        console.print(f"[bold]stage {index}/{len(names)}[/bold] {name}")
        wait = lambda: console.print(f"{name}: another run is computing this stage; waiting for it")  # noqa: E731
        with ctx.cache.lock(name, stage.key, on_wait=wait):
            done = ctx.cache.is_done(name, stage.key)
            failed = _failed_benchmarks(ctx, name) if done else []
            if done and not failed:
                console.print(f"[dim]{name:<18} cached   {ctx.cache.final_dir(name, stage.key)}[/dim]")
                log.info("[%s] cached at %s", name, ctx.cache.final_dir(name, stage.key))
                rows.append(_cached_row(ctx, name, stage.key))
                continue
            if failed:
                console.print(f"{name}: cached with failed benchmarks ({', '.join(failed)}); evaluating it again")
                log.warning("[%s] cached with failed benchmarks %s: evaluating it again", name, failed)
            rows.append(_run_stage(ctx, name, replace=bool(failed)))
        gc.collect()
    return rows
