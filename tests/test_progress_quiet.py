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
