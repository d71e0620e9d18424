"""Runs a plan: cached stages are skipped, the rest computed into temporary dirs and committed in order."""
from __future__ import annotations

import gc
import logging
import time

from .stages import RUNNERS, RunContext

log = logging.getLogger("bench.run")


def execute(ctx: RunContext, console) -> list[dict]:
    """One row per stage: name, status ("cached" / "ran"), wall time, artifact directory, summary."""
    rows = []
    for name, stage in ctx.plan.items():
        final = ctx.cache.final_dir(name, stage.key)
        if ctx.cache.is_done(name, stage.key):
            manifest = ctx.cache.manifest(name, stage.key)
            console.print(f"[dim]{name:<18} cached   {final}[/dim]")
            log.info("[%s] cached at %s", name, final)
            rows.append({"stage": name, "status": "cached", "wall_time_s": manifest.get("wall_time_s"), "cpu_time_s": manifest.get("cpu_time_s"), "dir": str(final),
                         "summary": manifest.get("summary", {})})
            continue
        tmp = ctx.cache.begin(name, stage.key)
        log.info("[%s] running into %s", name, tmp)
        start, cpu_start = time.monotonic(), time.process_time()
        summary = RUNNERS[stage.kind](ctx, stage, tmp)
        wall, cpu = time.monotonic() - start, time.process_time() - cpu_start
        manifest = {"kind": stage.kind, "role": stage.role, "config": stage.config, "deps": stage.deps,
                    "dep_keys": {r: ctx.plan[d].key for r, d in stage.deps.items()}, "base_model": stage.base_model,
                    "seed": ctx.seed, "wall_time_s": round(wall, 2), "cpu_time_s": round(cpu, 2), "summary": summary}
        ctx.cache.commit(name, stage.key, tmp, manifest)
        console.print(f"{name:<18} done     {wall:7.1f}s (cpu {cpu:.1f}s)  {final}")
        log.info("[%s] done in %.1fs: %s", name, wall, summary)
        rows.append({"stage": name, "status": "ran", "wall_time_s": round(wall, 2), "cpu_time_s": round(cpu, 2), "dir": str(final), "summary": summary})
        gc.collect()
    return rows
