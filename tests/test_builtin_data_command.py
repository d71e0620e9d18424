"""`bench data show|stats builtin`."""
from __future__ import annotations

from bench.cli import main
from bench.datasets import builtin


def test_data_show_prints_pairs_with_constraints_and_scores(capsys):
    assert main(["data", "show", "builtin", "--n", "3", "--split", "test"]) == 0
    out = capsys.readouterr().out
    items = builtin.test_prompts()[:3]
    for item in items:
        assert item.id in out
        assert item.constraints[0].kind in out
    assert out.count("score strict / loose") == 3
    assert out.count("1.00 / 1.00") >= 3  # every chosen answer passes


def test_data_stats_and_bad_input(capsys):
    assert main(["data", "stats", "builtin", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert "builtin-v1+seed2" in out and "json_keys" in out
    assert main(["data", "show", "no-such-set"]) == 2
    assert "unknown dataset" in capsys.readouterr().err
    assert main(["data", "show", "builtin", "--split", "dev"]) == 2
