"""Progress of our own long work (stages, training steps, generation, judging), with rate and ETA.

On a terminal each task is a rich progress bar. Anywhere else (a log file, a pipe, `bench reproduce` running
`bench run` in a child process) a bar would print nothing until the end, so a plain line is printed instead at
the start, then at most every ``LINE_INTERVAL_S`` seconds, and at the end: what, done/total, rate, ETA. Every
task is also logged (the run's ``run.log`` gets the detail). Third-party libraries' own bars are switched off
by ``quiet_libraries``.
"""
from __future__ import annotations

import contextlib
import logging
import os
import time
from typing import Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

log = logging.getLogger("bench.run")
LINE_INTERVAL_S = 30.0


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


class Task:
    """One unit of work with a known total; ``advance(n)`` as parts finish."""

    def __init__(self, reporter: "Reporter", label: str, total: int, unit: str):
        self.reporter, self.label, self.total, self.unit = reporter, label, max(int(total), 0), unit
        self.done = 0
        self.started = time.monotonic()
        self._last_line = self._last_log = self.started
        self._bar = None
        if reporter.console.is_terminal and not reporter.plain:
            self._bar = Progress(TextColumn("[bold]{task.description:<22}"), BarColumn(bar_width=30), MofNCompleteColumn(),
                                 TextColumn(unit), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                                 console=reporter.console, transient=False)
            self._bar.start()
            self._bar_id = self._bar.add_task(label, total=self.total)
        else:
            reporter.console.print(f"{label}: {self.total} {unit}", soft_wrap=True)
        log.info("[%s] start: %d %s", label, self.total, unit)

    def status(self) -> str:
        elapsed = time.monotonic() - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = f", ETA {_duration((self.total - self.done) / rate)}" if rate > 0 and self.done < self.total else ""
        return f"{self.label}: {self.done}/{self.total} {self.unit}, {rate:.2f}/s, {_duration(elapsed)} elapsed{eta}"

    def advance(self, n: int = 1) -> None:
        self.done += int(n)
        now = time.monotonic()
        if self._bar is not None:
            self._bar.update(self._bar_id, advance=int(n))
        elif now - self._last_line >= LINE_INTERVAL_S or self.done >= self.total:
            # soft_wrap: one line per report in a log, never cut at rich's default width of 80 columns
            self.reporter.console.print(self.status(), soft_wrap=True)
            self._last_line = now
        if self.total <= 1000 or now - self._last_log >= 5.0 or self.done >= self.total:  # small tasks: every step
            log.info("%s", self.status())
            self._last_log = now

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


class Reporter:
    """Where progress goes: one console (stderr), shared by the pipeline and the evaluators it calls."""

    def __init__(self, console: Console | None = None, plain: bool | None = None):
        self.console = console or Console(stderr=True, highlight=False)
        # BENCH_PROGRESS=plain forces lines even on a terminal (e.g. for screen recordings or tmux logs).
        self.plain = plain if plain is not None else os.environ.get("BENCH_PROGRESS") == "plain"

    @contextlib.contextmanager
    def task(self, label: str, total: int, unit: str) -> Iterator[Task]:
        task = Task(self, label, total, unit)
        try:
            yield task
        finally:
            task.close()


def quiet_libraries() -> None:
    """Our progress replaces the libraries' own: transformers' and datasets' bars, tqdm bars (alpaca_eval,
    lm-eval), their INFO chatter. What they log still reaches the run log through the root logger's handlers."""
    os.environ.setdefault("TQDM_DISABLE", "1")  # effective only if tqdm is not imported yet: bench.cli sets it first
    import warnings

    import transformers

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    try:
        import datasets

        datasets.disable_progress_bars()
        datasets.logging.set_verbosity_error()
    except ImportError:
        pass
    for name in ("alpaca_eval", "lm_eval", "lm-eval", "httpx", "openai", "root"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", category=FutureWarning, module="transformers")
    warnings.filterwarnings("ignore", message=".*pin_memory.*")
