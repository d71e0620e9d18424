"""Our progress lines replace third-party bars: a `bench` process has tqdm bars off before any library imports tqdm."""
from __future__ import annotations

import os
import subprocess
import sys

from pipeline_helpers import ROOT


def test_the_cli_turns_tqdm_bars_off_before_any_library_imports_tqdm():
    env = {k: v for k, v in os.environ.items() if not k.startswith("TQDM_")}
    # alpaca_eval's annotation chunks draw their bar through tqdm.tqdm after transformers has imported tqdm
    probe = ("import bench.cli, transformers, tqdm; from alpaca_eval import utils; "
             "bar = tqdm.tqdm(range(1), desc='Annotation chunk'); print(bar.disable)")
    done = subprocess.run([sys.executable, "-c", probe], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "True"
    assert "Annotation chunk" not in done.stderr


def test_a_plain_progress_report_stays_on_one_line_in_a_narrow_log():
    import io

    from rich.console import Console

    from bench.progress import Reporter

    log = io.StringIO()
    reporter = Reporter(Console(file=log, width=40, force_terminal=False), plain=True)
    with reporter.task("MT-Bench turn 1 (local-qwen1.5b:noexample)", total=2, unit="judgments") as task:
        task.advance(1)
        task.advance(1)
    lines = log.getvalue().splitlines()
    assert lines[0] == "MT-Bench turn 1 (local-qwen1.5b:noexample): 2 judgments"
    assert len(lines) == 2 and lines[1].startswith("MT-Bench turn 1 (local-qwen1.5b:noexample): 2/2 judgments, ")
    assert lines[1].endswith(" elapsed")
