"""`bench reproduce` (what `make reproduce-table2` runs) end to end on the tiny test profile, then warm."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from pipeline_helpers import ROOT, bench_env

MAIN_ROWS = {"ref_teacher", "dpo_teacher", "sft", "dpo", "dckd", "adpa", "adpa_plus"}


def _reproduce(tmp_path, env):
    command = [sys.executable, "-m", "bench.cli", "reproduce", "--profile", "test", "--runs-dir", str(tmp_path / "runs"),
               "--out", str(tmp_path / "reports")]
    return subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=1100)


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_reproduce_renders_the_grid_and_reruns_from_cache(tmp_path):
    env = bench_env(tmp_path / "cache")
    cold = _reproduce(tmp_path, env)
    assert cold.returncode == 0, cold.stderr[-4000:]
    reports = tmp_path / "reports"
    for ext in ("md", "csv", "tex", "html"):
        assert (reports / f"table2.{ext}").stat().st_size > 0
    markdown = (reports / "table2.md").read_text()
    for label in ("Teacher (reference)", "Teacher (DPO)", "| SFT", "| DPO", "| DCKD", "| ADPA", "| ADPA+"):
        assert label in markdown
    entries = json.loads((reports / "table2.results.json").read_text())["entries"]
    main = {e["method"] for e in entries if e.get("study", "main") == "main"}
    assert main == MAIN_ROWS
    sweeps = {(e["method"], e["hyperparameters"].get("alpha"), e["hyperparameters"].get("gamma"))
              for e in entries if e.get("study") == "figure5"}
    assert sweeps == {("dckd", 0.1, None), ("dckd", 0.3, None), ("adpa", None, 0.8), ("adpa", None, 1.6)}

    # a row an earlier `bench run` of another method left in the run folder stays there, but not in the table
    run_results = next(p for p in (tmp_path / "runs").glob("*/*/results.json") if "fig5" not in p.parent.name)
    doc = json.loads(run_results.read_text())
    doc["entries"].append({**next(e for e in doc["entries"] if e["method"] == "dpo"), "method": "simpo"})
    run_results.write_text(json.dumps(doc))

    warm = _reproduce(tmp_path, env)
    assert warm.returncode == 0, warm.stderr[-4000:]
    assert "left out 1 entry of methods not asked for (simpo)" in warm.stderr
    assert "simpo" in {e["method"] for e in json.loads(run_results.read_text())["entries"]}
    warm_entries = json.loads((reports / "table2.results.json").read_text())["entries"]
    assert sorted(e["method"] for e in warm_entries) == sorted(e["method"] for e in entries)
    statuses = re.findall(r"^(\S+)\s+(cached|done)\s", warm.stderr, re.M)
    assert statuses and {status for _, status in statuses} == {"cached"}, statuses
