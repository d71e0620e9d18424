"""One progress line per stage (rich): units done / total, rate and ETA; a log line per step for the run log."""
from __future__ import annotations

import logging
import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

log = logging.getLogger("bench.run")


class StageProgress:
    def __init__(self, console: Console):
        self.console = console
        self._progress: Progress | None = None
        self._task = None
        self.stage = ""
        self.unit = ""
        self.done = 0
        self.total = 0
        self._last_log = 0.0

    def start(self, stage: str, total: int, unit: str) -> None:
        self.stop()
        self.stage, self.total, self.unit, self.done = stage, int(total), unit, 0
        self._progress = Progress(
            TextColumn("[bold]{task.description:<18}"), BarColumn(bar_width=30), MofNCompleteColumn(),
            TextColumn("{task.fields[unit]}"), TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"),
            TimeRemainingColumn(), console=self.console, transient=False,
        )
        self._progress.start()
        self._start_time = time.monotonic()
        self._task = self._progress.add_task(stage, total=self.total, unit=unit, rate="")
        log.info("[%s] start: %d %s", stage, self.total, unit)

    def advance(self, n: int = 1) -> None:
        self.done += int(n)
        elapsed = max(time.monotonic() - self._start_time, 1e-6)
        if self._progress is not None:
            self._progress.update(self._task, advance=int(n), rate=f"{self.done / elapsed:.1f}/s")
        now = time.monotonic()
        if now - self._last_log > 1.0 or self.done >= self.total:
            self._last_log = now
            log.info("[%s] progress %d/%d %s", self.stage, self.done, self.total, self.unit)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
