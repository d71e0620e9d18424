"""Runs a plan: cached stages are skipped, the rest computed into temporary dirs and committed in order."""
from __future__ import annotations

import gc
import logging
import time

from bench.errors import with_path

from .context import RunContext

log = logging.getLogger("bench.run")


def _cached_row(ctx: RunContext, name: str, key: str) -> dict:
    manifest = ctx.cache.manifest(name, key)
    return {"stage": name, "status": "cached", "wall_time_s": manifest.get("wall_time_s"), "cpu_time_s": manifest.get("cpu_time_s"),
            "dir": str(ctx.cache.final_dir(name, key)), "summary": manifest.get("summary", {})}


def _run_stage(ctx: RunContext, name: str) -> dict:
    from .stages import RUNNERS

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
    final = ctx.cache.commit(name, stage.key, tmp, manifest)
    ctx.reporter.console.print(f"{name:<18} done     {wall:7.1f}s (cpu {cpu:.1f}s)")
    log.info("[%s] done in %.1fs: %s", name, wall, summary)
    return {"stage": name, "status": "ran", "wall_time_s": round(wall, 2), "cpu_time_s": round(cpu, 2), "dir": str(final),
            "summary": summary}


def execute(ctx: RunContext) -> list[dict]:
    """One row per stage: name, status ("cached" / "ran"), wall time, artifact directory, summary."""
    rows = []
    console = ctx.reporter.console
    for index, (name, stage) in enumerate(ctx.plan.items(), 1):
        console.print(f"[bold]stage {index}/{len(ctx.plan)}[/bold] {name}")
        wait = lambda: console.print(f"{name}: another run is computing this stage; waiting for it")  # noqa: E731
        with ctx.cache.lock(name, stage.key, on_wait=wait):
            if ctx.cache.is_done(name, stage.key):
                console.print(f"[dim]{name:<18} cached   {ctx.cache.final_dir(name, stage.key)}[/dim]")
                log.info("[%s] cached at %s", name, ctx.cache.final_dir(name, stage.key))
                rows.append(_cached_row(ctx, name, stage.key))
                continue
            rows.append(_run_stage(ctx, name))
        gc.collect()
    return rows
