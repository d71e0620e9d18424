"""Agreement statistics on constructed data whose answers are known, and the stored check's round trip."""
from __future__ import annotations

import json
import math
from types import SimpleNamespace

import pytest
from scipy import stats

from bench.evals.judge_checks import mt_bench as mt
from bench.evals.judge_checks import verifier as ver
from bench.judges.agreement import check_path, load_agreement, summary_text, write_check
from bench.judges.agreement_stats import auroc, cluster_bootstrap, correlation, pair_outcomes, wilson_interval


def R(x):
    return SimpleNamespace(rating=x)


def test_pairwise_outcomes_and_wilson_interval():
    outcomes = pair_outcomes([(2, 1), (3, 1), (1, 2), (2, 2)])
    assert outcomes == [1.0, 1.0, 0.0, 0.5]
    low, high = wilson_interval(outcomes)  # 2.5 successes: from Wilson(2/4).low to Wilson(3/4).high
    assert low == pytest.approx(stats.binomtest(2, 4).proportion_ci(method="wilson").low)
    assert high == pytest.approx(stats.binomtest(3, 4).proportion_ci(method="wilson").high)
    no_ties = wilson_interval([1.0] * 8 + [0.0] * 2)
    ci = stats.binomtest(8, 10).proportion_ci(method="wilson")
    assert no_ties == pytest.approx((ci.low, ci.high)) and wilson_interval([]) is None


def test_auroc_counts_ties_half():
    assert auroc([3, 4, 5], [1, 2, 3]) == pytest.approx(8.5 / 9)
    assert auroc([5, 6], [1, 2]) == 1.0 and auroc([1, 2], [5, 6]) == 0.0
    assert auroc([], [1]) is None


def test_cluster_bootstrap_is_seeded_and_brackets_the_estimate():
    values = [0.1, 0.4, 0.35, 0.8, 0.55, 0.6, 0.2, 0.9]

    def mean(idx):
        return sum(values[i] for i in idx) / len(idx)

    first, second = cluster_bootstrap(len(values), mean), cluster_bootstrap(len(values), mean)
    assert first == second and first[0] < sum(values) / len(values) < first[1]
    assert cluster_bootstrap(5, lambda idx: 1.0) == (1.0, 1.0)
    assert cluster_bootstrap(1, mean) is None


def test_mt_bench_agreement_recovers_known_rankings():
    models = ["a", "b", "c", "d"]
    gpt4 = {"a": 9.0, "b": 7.5, "c": 6.0, "d": 4.0}
    questions = [81, 82, 83, 84, 85]
    jobs = [{"model": m, "question_id": q} for q in questions for m in models]
    same = [R(gpt4[j["model"]] + (j["question_id"] % 2) * 0.3) for j in jobs]  # noise that keeps the order
    result = mt.agreement(jobs, same, gpt4, models, questions)
    assert result["spearman"]["value"] == pytest.approx(1.0) and result["kendall"]["value"] == pytest.approx(1.0)
    assert result["spearman"]["ci95"] == (1.0, 1.0) and result["n_failed"] == 0
    reverse = [R(11 - gpt4[j["model"]]) for j in jobs]
    assert mt.agreement(jobs, reverse, gpt4, models, questions)["spearman"]["value"] == pytest.approx(-1.0)
    # A failed judgment is left out of the model's mean, never counted as a rating.
    holes = [R(None) if (j["model"], j["question_id"]) == ("d", 81) else r for j, r in zip(jobs, same)]
    result = mt.agreement(jobs, holes, gpt4, models, questions)
    assert result["n_failed"] == 1 and result["model_means"]["d"] == pytest.approx(4.0 + 0.3 * 2 / 4)


def test_select_questions_spreads_over_categories():
    questions = [{"question_id": i, "category": c} for c in ("w", "r", "m") for i in range(3)]
    questions = [dict(q, question_id=n) for n, q in enumerate(questions)]
    chosen = mt.select_questions(questions, 5)
    assert [q["category"] for q in chosen] == ["w", "r", "m", "w", "r"]
    assert [q["question_id"] for q in chosen] == [0, 3, 6, 1, 4]


def test_published_scores_errors_name_the_line(tmp_path):
    (tmp_path / mt.SCORES_FILE).write_text("model,mt_bench_gpt4_score\ngpt-4,8.99\nbroken,high\n")
    with pytest.raises(ValueError, match=r"gpt4_published_scores.csv: line 3"):
        mt.published_scores(tmp_path)


def test_verifier_agreement_on_a_perfect_and_a_reversed_judge():
    per_prompt = [
        [{"source": "chosen", "score": 1.0, "passed": True}, {"source": "rejected", "score": 0.5, "passed": False},
         {"source": "model", "score": 0.0, "passed": False}],
        [{"source": "chosen", "score": 1.0, "passed": True}, {"source": "rejected", "score": 0.0, "passed": False},
         {"source": "model", "score": 1.0, "passed": True}],
    ]
    assert ver.prompt_pairs(per_prompt[0]) == [(0, 1), (0, 2), (1, 2)]
    assert ver.prompt_pairs(per_prompt[1]) == [(0, 1), (2, 1)]  # equal scores make no pair
    assert ver.choose_prompts(per_prompt, 3) == 1 and ver.choose_prompts(per_prompt, 99) == 2
    jobs = [{"prompt": p, "answer": a} for p in range(2) for a in range(3)]
    perfect = [R(1 + 9 * per_prompt[j["prompt"]][j["answer"]]["score"]) for j in jobs]
    result = ver.agreement(per_prompt, jobs, perfect)
    assert result["pairwise_accuracy"]["value"] == 1.0 and result["pairwise_accuracy"]["n_pairs"] == 5
    assert result["auroc"]["value"] == 1.0 and (result["auroc"]["n_pass"], result["auroc"]["n_fail"]) == (3, 3)
    reversed_ = [R(11 - r.rating) for r in perfect]
    assert ver.agreement(per_prompt, jobs, reversed_)["pairwise_accuracy"]["value"] == 0.0
    constant = [R(5.0) for _ in jobs]
    flat = ver.agreement(per_prompt, jobs, constant)
    assert flat["pairwise_accuracy"]["value"] == 0.5 and flat["pairwise_accuracy"]["ties"] == 5
    assert flat["auroc"]["value"] == 0.5


def test_correlation_of_constant_means_is_undefined_not_nan():
    assert correlation("spearman", [5, 5, 5, 5], [1, 2, 3, 4]) is None


def _result(judge_id="local-test", value=0.79):
    return {"judge": {"id": judge_id, "settings": {"model": "m", "rating_mode": "expected", "model_sha256": "abc"}},
            "created": "2026-12-01T00:00:00+00:00",
            "mt_bench": {"n_models": 25, "n_questions": 16, "spearman": {"value": value, "ci95": (0.5, 0.9)},
                         "kendall": {"value": 0.6, "ci95": (0.4, 0.8)}},
            "verifier": {"n_prompts": 50, "pairwise_accuracy": {"value": 0.71, "ci95": (0.6, 0.8), "n_pairs": 120},
                         "auroc": {"value": 0.7, "ci95": (0.6, 0.8), "n_pass": 60, "n_fail": 90}}}


def test_check_file_round_trip_and_summary(tmp_path):
    path = write_check(_result(), tmp_path)
    assert path == check_path("local-test", tmp_path) and json.loads(path.read_text())["mt_bench"]["n_questions"] == 16
    summary = load_agreement("local-test", folder=tmp_path)
    assert summary["mt_bench_gpt4"]["spearman"] == 0.79 and summary["verifier"]["n_pairs"] == 120
    assert summary["text"].startswith("local-test vs GPT-4 on MT-Bench: Spearman 0.79 [0.50, 0.90]")
    assert "n=25 models x 16 questions" in summary["text"] and "pairwise accuracy 0.71 [0.60, 0.80], Wilson over pairs, as if independent, n=120 pairs on 50 prompts" in summary["text"]
    assert load_agreement("never-checked", folder=tmp_path) is None
    other = {"model": "m", "rating_mode": "greedy", "model_sha256": "abc"}
    assert load_agreement("local-test", settings=other, folder=tmp_path) is None
    assert load_agreement("local-test", settings=dict(other, rating_mode="expected"), folder=tmp_path) is not None


def test_non_finite_results_are_refused_and_nothing_is_written(tmp_path):
    with pytest.raises(ValueError, match="finite"):
        write_check(_result("nan-judge", math.nan), tmp_path)
    assert list(tmp_path.iterdir()) == []
    assert "no reference measured" in summary_text({"judge": {"id": "x"}})


def test_this_machines_check_comes_before_the_shipped_one(tmp_path, monkeypatch):
    from bench.judges import agreement

    shipped, cache = tmp_path / "shipped", tmp_path / "cache"
    monkeypatch.setattr(agreement, "SHIPPED_DIR", shipped)
    monkeypatch.setenv("BENCH_CACHE_DIR", str(cache))
    write_check(_result(value=0.4), shipped)
    summary = load_agreement("local-test")
    assert summary["mt_bench_gpt4"]["spearman"] == 0.4 and summary["source"].startswith("measured by the maintainers")
    assert summary["file"] == "bench/judges/measured/local-test.json"  # no path of this machine
    write_check(_result(value=0.7), cache / "judge_checks")
    summary = load_agreement("local-test")
    assert summary["mt_bench_gpt4"]["spearman"] == 0.7 and "source" not in summary
    # a shipped check made under other settings does not describe the judge
    assert load_agreement("other-judge") is None
    (cache / "judge_checks" / "local-test.json").unlink()
    assert load_agreement("local-test", settings={"model": "m", "rating_mode": "greedy", "model_sha256": "abc"}) is None


def test_shipped_checks_describe_the_judges_the_recipes_use():
    """The files in bench/judges/measured are real judge-check outputs for the local judges (ids and the pinned
    GGUF hashes match), so a fresh clone's reports quote them."""
    from bench.commands.judge_check import REFERENCES
    from bench.judges.agreement import SHIPPED_DIR
    from bench.judges.local_models import LOCAL_MODELS
    from bench.judges.validation import check_shortfall

    files = sorted(SHIPPED_DIR.glob("*.json"))
    assert files, "no shipped judge checks"
    for path in files:
        result = json.loads(path.read_text())
        judge_id = result["judge"]["id"]
        assert path == check_path(judge_id, SHIPPED_DIR) and judge_id.split(":")[0] in LOCAL_MODELS, path
        assert "agreement" not in result["judge"], path  # no quote of an older check inside the file
        hh = result.get("hh")
        if hh:  # every sampled pair judged or counted as failed (local-smollm2's greedy judge gave one reply no rating)
            assert hh["n_pairs"] + hh["n_failed"] == len(hh["record_lines"]), path
        # the label agrees with the sizes: what bench judge-check writes now, and what was added by hand before it did
        assert bool(result.get("screening")) == bool(check_shortfall(result)), path
        if result.get("screening"):  # a subset, said so in the file; quoted, never enough to validate (test_judges_validation)
            assert any(result.get(ref) for ref in REFERENCES), path
            if result.get("mt_bench"):
                assert result["mt_bench"]["n_models"] >= 3 and result["mt_bench"]["n_questions"] >= 1, path
        else:
            # every reference it holds at full size: GPT-4 on all 25 models and at least 24 questions, HH on at least
            # 400 pairs (a reference it lacks is not measured, which the footnote says)
            mt = result.get("mt_bench")
            assert mt or hh, path
            assert not mt or (mt["n_models"] == 25 and mt["n_questions"] >= 24), path
            assert not hh or len(hh["record_lines"]) >= 400, path


def test_shipped_length_baselines_are_what_the_data_gives(data_dir):
    """A shipped check's no-judge baseline (answer length as the rating) is recomputed from the data on the check's
    own questions and HH pairs: a number edited by hand, or a baseline of other answers, fails here. (The verifier's
    needs SmolLM2's answers, minutes: `bench judge-check --length-only` checks its answers when it adds it.)"""
    from bench.evals.judge_checks import length_baselines
    from bench.judges.agreement import SHIPPED_DIR, _finite

    recomputed, compared = {}, 0
    for path in sorted(SHIPPED_DIR.glob("*.json")):
        result = json.loads(path.read_text())
        for ref, rebuild in (("mt_bench", lambda b: length_baselines.mt_bench(b, data_dir / "mt_bench", str(path))),
                             ("hh", lambda b: length_baselines.hh_pairs(b, data_dir, str(path)))):
            block = result.get(ref) or {}
            if not block.get("length_baseline"):
                continue
            key = (ref, json.dumps(block.get("question_ids") or block.get("record_lines")))
            if key not in recomputed:  # the full checks share their questions and pairs
                recomputed[key] = _finite(rebuild(block))  # rounded as the check file is
            shipped = {k: v for k, v in block["length_baseline"].items() if k not in ("added", "added_by")}
            assert shipped == recomputed[key], (path.name, ref)
            compared += 1
    assert compared >= 9  # five full MT-Bench checks and four with HH, all with a baseline


def test_shipped_placements_agree_with_the_data_and_their_own_check(data_dir):
    """A shipped `--place` block (models without a GPT-4 score) is the command's output: each model's mean is the
    mean of its ratings, its rank is counted among the same file's MT-Bench model means, and its mean answer length
    is recomputed from the data on the check's questions; a number edited by hand fails here."""
    from bench.evals.judge_checks.mt_bench import mean_answer_chars
    from bench.judges.agreement import SHIPPED_DIR

    placed_files = 0
    for path in sorted(SHIPPED_DIR.glob("*.json")):
        result = json.loads(path.read_text())
        block, mt = result.get("placed"), result.get("mt_bench")
        if not block:
            continue
        placed_files += 1
        assert mt and block["question_ids"] == mt["question_ids"], path.name
        lengths = mean_answer_chars(data_dir / "mt_bench", list(block["models"]), block["question_ids"])
        means = [v for v in mt["model_means"].values() if v is not None]
        for name, one in block["models"].items():
            assert name not in mt["model_means"] and one["ratings"] and None not in one["ratings"], (path.name, name)
            assert one["mean"] == pytest.approx(sum(one["ratings"]) / len(one["ratings"]), abs=1e-3), (path.name, name)
            assert one["rank"] == 1 + sum(v > one["mean"] for v in means) and one["of"] == len(means) + 1, (path.name, name)
            assert one["ci95"][0] <= one["mean"] <= one["ci95"][1], (path.name, name)
            assert one["mean_answer_chars"] == pytest.approx(lengths[name], abs=1e-3), (path.name, name)
        assert block["order_by_judge"] == sorted(block["models"], key=lambda m: -block["models"][m]["mean"])
    assert placed_files >= 1  # the default judge's check places the data's six unscored models


def test_reports_quote_the_prompt_resampled_agreement_interval(tmp_path):
    """Answers to one prompt are not independent: 31 pairs on 13 prompts gave 0.68 [0.50, 0.81] as if independent and
    [0.47, 0.87] with prompts resampled; the summary quotes the latter (the shipped qwen0.5b check)."""
    result = _result()
    result["verifier"]["pairwise_accuracy"]["ci95_bootstrap_prompts"] = (0.4706, 0.871)
    summary = load_agreement("local-test", folder=write_check(result, tmp_path).parent)
    assert "pairwise accuracy 0.71 [0.47, 0.87], prompts resampled, n=120 pairs on 50 prompts" in summary["text"]
    assert summary["verifier"]["pairwise_accuracy_ci95"] == [0.4706, 0.871]


def test_prompt_resampling_widens_the_interval_of_correlated_pairs():
    """12 prompts, 4 pairs each, all pairs of a prompt judged alike (right on 8 prompts, wrong on 4): 48 'independent'
    pairs give a narrow Wilson interval; resampling prompts gives the interval of 12 independent units."""
    per_prompt = [1.0] * 8 + [0.0] * 4
    outcomes = [v for v in per_prompt for _ in range(4)]
    low, high = wilson_interval(outcomes)
    clustered = cluster_bootstrap(12, lambda idx: sum(per_prompt[i] for i in idx) / len(idx))
    assert clustered[1] - clustered[0] > 1.5 * (high - low)
    assert clustered[0] < 8 / 12 < clustered[1]
