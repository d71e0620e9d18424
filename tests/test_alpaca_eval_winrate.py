"""`bench alpaca-eval-winrate` and the LC fallback, on hand-made annotations."""
from __future__ import annotations

import json
import math

import pytest

from bench.cli import main
from bench.evals.alpaca_metrics import LC_FALLBACK, leaderboard_metrics

# preference: 1 = reference (output_1) better, 2 = model (output_2) better, 1.5 = tie, None = judge failed
PREFS = [2, 2, 1, 1.5, 2, 1, 2, None, 1, 2]


def _annotations():
    rows = []
    for i, p in enumerate(PREFS):
        rows.append({"instruction": f"q{i}", "output_1": "reference " * (5 + i), "output_2": "model " * (3 + 2 * i),
                     "generator_1": "gpt4_1106_preview", "generator_2": "my-model", "annotator": "hand", "preference": p})
    return rows


def _by_hand():
    scored = [p for p in PREFS if p is not None]
    credit = [{2: 1.0, 1: 0.0, 1.5: 0.5}[p] for p in scored]
    mean = sum(credit) / len(credit)
    sem = math.sqrt(sum((c - mean) ** 2 for c in credit) / (len(credit) - 1) / len(credit))
    return 100 * mean, 100 * sem, sum(p == 2 for p in scored), sum(p == 1.5 for p in scored), len(scored)


def test_cli_rescores_annotations(tmp_path, capsys):
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps(_annotations()))
    assert main(["alpaca-eval-winrate", str(path), "--json", "--data-dir", str(tmp_path)]) == 0
    got = json.loads(capsys.readouterr().out)
    win_rate, sem, wins, draws, total = _by_hand()
    assert win_rate == pytest.approx(100 * 5.5 / 9)
    assert got["win_rate"] == pytest.approx(win_rate)
    assert got["standard_error"] == pytest.approx(sem)
    assert (got["n_wins"], got["n_draws"], got["n_total"], got["n_unannotated"]) == (wins, draws, total, 1)
    # No df_gamed.csv in tmp_path (nor, offline, in the HF cache): LC comes from the labelled fallback GLM.
    assert got["lc_method"] == LC_FALLBACK and "FALLBACK" in got["lc_note"]
    assert 0.0 <= got["length_controlled_winrate"] <= 100.0

    assert main(["alpaca-eval-winrate", str(path)]) == 0
    table = capsys.readouterr().out
    for column in ("win_rate", "standard_error", "n_wins", "n_draws", "n_total", "length_controlled_winrate"):
        assert column in table.replace("\n", "").replace(" ", "") or column[:8] in table
    assert f"{win_rate:.2f}" in table


def test_lc_discounts_wins_that_come_with_longer_outputs(tmp_path):
    # The model wins exactly where its answer is longer than the reference: the length-controlled win rate
    # (predicted at equal length) must be lower than the raw one; with no length effect it must stay close.
    rows = []
    for i in range(20):
        wins = i % 10 < 7
        rows.append({"instruction": f"q{i}", "output_1": "r" * 100, "output_2": "m" * (100 + (60 + i) if wins else 100 - (30 + i)),
                     "generator_1": "ref", "generator_2": "model", "preference": 2.0 if wins else 1.0})
    got = leaderboard_metrics(rows, tmp_path)
    assert got["win_rate"] == pytest.approx(70.0)
    assert got["length_controlled_winrate"] < got["win_rate"] - 5
    same_length = [{**r, "output_2": "m" * 100} for r in rows]
    flat = leaderboard_metrics(same_length, tmp_path)
    assert flat["length_controlled_winrate"] == pytest.approx(70.0, abs=3.0)


def test_bad_file_names_the_problem(tmp_path, capsys):
    path = tmp_path / "a.json"
    path.write_text(json.dumps([{"instruction": "x"}]))
    assert main(["alpaca-eval-winrate", str(path)]) == 2
    assert f"bench alpaca-eval-winrate: error: {path}: record 0: field 'preference' is missing" in capsys.readouterr().err
