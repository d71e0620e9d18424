"""Stage graph, cache keys, the atomic stage cache, recipes: fast, in-process."""
from __future__ import annotations

import os

import pytest

from bench.pipeline.cache import StageCache
from bench.pipeline.plan import build_plan, compute_keys
from bench.recipe import RecipeError, load_recipe, profile_for

TEACHER_CHAIN = ["ref_teacher", "dpo_teacher"]


def plan_for(method, recipe=None, **kw):
    recipe = recipe or load_recipe("test")
    return build_plan(recipe, [method], "stu", "tea", **kw)


@pytest.mark.parametrize("method, stages", [
    ("sft", ["sft", "eval_sft"]),
    ("dpo", ["sft", "dpo", "eval_dpo"]),
    ("dckd", ["sft", *TEACHER_CHAIN, "teacher_topk", "dckd", "eval_dckd"]),
    ("adpa", ["sft", "samples_sft", *TEACHER_CHAIN, "advantages_sft", "adpa", "eval_adpa"]),
    ("adpa_plus", ["sft", *TEACHER_CHAIN, "teacher_topk", "dckd", "samples_dckd", "advantages_dckd", "adpa_plus", "eval_adpa_plus"]),
])
def test_each_method_plans_exactly_the_stages_it_needs(method, stages):
    assert list(plan_for(method)) == stages


def test_stage_wiring_follows_the_method_declarations():
    plan = plan_for("adpa_plus")
    assert plan["sft"].base_model == "stu" and plan["ref_teacher"].base_model == "tea"
    assert plan["dpo_teacher"].deps == {"init": "ref_teacher"}
    assert plan["dckd"].deps == {"init": "sft", "teacher_topk": "teacher_topk"}
    assert plan["samples_dckd"].deps == {"generator": "dckd"}
    assert plan["advantages_dckd"].deps == {"samples": "samples_dckd", "dpo_teacher": "dpo_teacher", "advantage_baseline": "ref_teacher"}
    assert plan["adpa_plus"].deps == {"init": "dckd", "samples": "samples_dckd", "advantages": "advantages_dckd"}
    assert plan["dpo_teacher"].config["method"] == "dpo" and plan["ref_teacher"].config["method"] == "sft"
    assert "eval_adpa_plus" not in plan_for("adpa_plus", evaluate=False)


def test_student_init_reference_uses_the_generating_student():
    recipe = load_recipe("test", ["advantages.baseline=student_init"])
    plan = plan_for("adpa_plus", recipe)
    assert plan["advantages_dckd"].deps["advantage_baseline"] == "dckd"
    assert "ref_teacher" in plan  # still needed: the DPO teacher starts from it


def test_two_methods_share_their_common_stages():
    recipe = load_recipe("test")
    both = build_plan(recipe, ["adpa", "adpa_plus"], "stu", "tea")
    assert [s for s in both if s.startswith("ref_teacher") or s.startswith("dpo_teacher")] == TEACHER_CHAIN
    fps, data = {"stu": "s" * 16, "tea": "t" * 16}, {"sft": "a", "pref_train": "b", "pref_teacher": "t", "pref_test": "c"}
    compute_keys(both, fps, data, 42, "stu")
    alone = plan_for("adpa_plus", recipe)
    compute_keys(alone, fps, data, 42, "stu")
    for name in alone:
        assert alone[name].key == both[name].key


def _keys(overrides=(), seed=42, data=None, fps=None):
    plan = plan_for("adpa_plus", load_recipe("test", list(overrides)))
    compute_keys(plan, fps or {"stu": "s" * 16, "tea": "t" * 16}, data or {"sft": "a", "pref_train": "b", "pref_teacher": "t", "pref_test": "c"}, seed, "stu")
    return {name: s.key for name, s in plan.items()}


def test_keys_change_exactly_downstream_of_a_change():
    base = _keys()
    changed = _keys(["stages.dckd.learning_rate=2e-3"])
    assert {n for n in base if base[n] != changed[n]} == {"dckd", "samples_dckd", "advantages_dckd", "adpa_plus", "eval_adpa_plus"}
    teacher = _keys(["stages.dpo_teacher.loss.beta=0.5"])
    assert {n for n in base if base[n] != teacher[n]} == {"dpo_teacher", "teacher_topk", "dckd", "samples_dckd", "advantages_dckd", "adpa_plus", "eval_adpa_plus"}
    assert set(_keys(seed=1).values()).isdisjoint(base.values())
    sft_data = _keys(data={"sft": "z", "pref_train": "b", "pref_teacher": "t", "pref_test": "c"})
    assert {n for n in base if base[n] == sft_data[n]} == set()  # SFT data feeds both the student and the teacher chain
    test_only = _keys(data={"sft": "a", "pref_train": "b", "pref_teacher": "t", "pref_test": "z"})
    assert {n for n in base if base[n] != test_only[n]} == {"eval_adpa_plus"}
    # the DPO teacher's own pairs (data.teacher_train_limit) key the DPO teacher and what it feeds, not the SFT student
    teacher_pairs = _keys(data={"sft": "a", "pref_train": "b", "pref_teacher": "other", "pref_test": "c"})
    assert {n for n in base if base[n] == teacher_pairs[n]} == {"sft", "ref_teacher"}


def test_recipe_overrides_are_typed_and_checked():
    recipe = load_recipe("test", ["stages.dckd.learning_rate=1e-5", "data.train_limit=4", "eval.benchmarks=[gold]"])
    assert recipe.stage("dckd").learning_rate == 1e-5
    assert recipe.data.train_limit == 4 and recipe.eval.benchmarks == ["gold"]
    with pytest.raises(RecipeError, match="no field 'data.trian_limit'"):
        load_recipe("test", ["data.trian_limit=4"])
    with pytest.raises(RecipeError, match="KEY=VALUE"):
        load_recipe("test", ["data.train_limit"])
    with pytest.raises(RecipeError, match=r"stages\.dckd\.lr: unknown field"):
        load_recipe("test", ["stages.dckd.lr=1"])
    with pytest.raises(RecipeError, match=r"stages\.dckd\.loss: unknown loss settings"):
        load_recipe("test", ["stages.dckd.loss.alpha=1"])


def test_profiles_and_teachers():
    assert profile_for("danube3-500m") == "paper" and profile_for("llama3.2-1b") == "paper"
    assert profile_for("smollm2-8l") == "embedded" and profile_for(None) == "embedded"
    paper = load_recipe("paper")
    assert paper.teacher_for("llama3.2-1b") == "llama3.1-8b"
    assert paper.teacher_for("danube2-1.8b") == "mistral-7b"
    assert paper.teacher_for("danube2-1.8b", "/my/teacher") == "/my/teacher"
    assert paper.stage("dckd").learning_rate == 5e-7 and paper.stage("ref_teacher").epochs == 3


def test_stage_cache_commit_is_atomic_and_cleans_dead_leftovers(tmp_path):
    cache = StageCache(tmp_path)
    key = "k" * 64
    dead = tmp_path / f".tmp-dckd-{key[:16]}-999999999"  # a pid that cannot be alive
    dead.mkdir(parents=True)
    (dead / "half.bin").write_bytes(b"x")
    tmp = cache.begin("dckd", key)
    assert not dead.exists() and tmp.exists()
    assert not cache.is_done("dckd", key)
    (tmp / "out.txt").write_text("ok")
    assert not cache.final_dir("dckd", key).exists()
    final = cache.commit("dckd", key, tmp, {"summary": {}})
    assert cache.is_done("dckd", key) and (final / "out.txt").read_text() == "ok" and not tmp.exists()
    assert cache.manifest("dckd", key)["key"] == key


def test_hh_rlhf_local_copy_converts_and_counts_skips(caplog):
    from pathlib import Path

    from bench.datasets import get_source
    from methods.records import validate_preference

    data = Path(__file__).resolve().parents[2] / "shared" / "data"
    if not (data / "hh_rlhf").is_dir():
        pytest.skip("shared data folder not present")
    source = get_source("hh_rlhf")
    with caplog.at_level("WARNING"):
        train, test = source.preference("train", data), source.preference("test", data)
    assert len(train) > 1500 and len(test) > 150
    for i, r in enumerate(train[:50] + test[:50]):
        validate_preference(r, "hh", i)
    assert train[0]["prompt"][0]["content"] == "what are some pranks with a pen i can do?"
    assert any("do not convert" in m for m in caplog.messages)
    assert 2250 < len(train) + len(test) < 2312  # the whole file, split 90/10, less the few that do not convert


def test_hub_sources_read_local_files_and_fail_clearly_offline(tmp_path, monkeypatch):
    import json

    from bench.datasets import DataUnavailable, get_source
    from bench.datasets.hub import helpsteer2_pairs

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    (tmp_path / "dpo_mix_7k").mkdir()
    conv = lambda answer: [{"role": "user", "content": "hi"}, {"role": "assistant", "content": answer}]  # noqa: E731
    rows = [{"chosen": conv("good"), "rejected": conv("bad")}, {"chosen": conv("x"), "rejected": conv("")}]
    for split in ("train", "test"):
        (tmp_path / "dpo_mix_7k" / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    source = get_source("dpo_mix_7k")
    assert source.availability(tmp_path) is None
    pairs = source.preference("train", tmp_path)
    assert pairs == [{"prompt": [{"role": "user", "content": "hi"}], "chosen": [{"role": "assistant", "content": "good"}],
                      "rejected": [{"role": "assistant", "content": "bad"}]}]
    missing = get_source("deita_10k").availability(tmp_path)
    assert "deita_10k/train_sft.jsonl" in missing and "--data-dir" in missing
    with pytest.raises(DataUnavailable, match="HuggingFaceH4/deita-10k-v0-sft"):
        get_source("deita_10k").sft("train", tmp_path)
    hs = [{"prompt": "p1", "response": "a", "helpfulness": 3}, {"prompt": "p1", "response": "b", "helpfulness": 1},
          {"prompt": "p2", "response": "c", "helpfulness": 2}, {"prompt": "p2", "response": "d", "helpfulness": 2}]
    (pair,) = helpsteer2_pairs(hs, "hs")
    assert pair["chosen"][0]["content"] == "a" and pair["rejected"][0]["content"] == "b"
    assert os.environ["HF_HUB_OFFLINE"] == "1"


def test_a_recipe_extends_another_section_by_section(tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text((__import__("bench.recipe", fromlist=["recipe_path"]).recipe_path("test")).read_text())
    child = tmp_path / "child.yaml"
    child.write_text("extends: base.yaml\ndata: {train_limit: 6}\nstages: {dckd: {learning_rate: 3.0e-5}}\n")
    parent, merged = load_recipe(str(base)), load_recipe(str(child))
    assert merged.data.train_limit == 6 and merged.stage("dckd").learning_rate == 3e-5
    # everything the child does not name comes from the parent, mapping by mapping
    assert merged.data.test_limit == parent.data.test_limit and merged.stage("dckd").loss == parent.stage("dckd").loss
    assert merged.stage("sft").learning_rate == parent.stage("sft").learning_rate and merged.eval == parent.eval
    (tmp_path / "loop.yaml").write_text("extends: loop.yaml\n")
    with pytest.raises(RecipeError, match="leads back to itself"):
        load_recipe(str(tmp_path / "loop.yaml"))
    (tmp_path / "gone.yaml").write_text("extends: nowhere.yaml\n")
    with pytest.raises(RecipeError, match="no such recipe file"):
        load_recipe(str(tmp_path / "gone.yaml"))
    (tmp_path / "bad.yaml").write_text("extends: [embedded]\n")
    with pytest.raises(RecipeError, match="extends: expected a profile name"):
        load_recipe(str(tmp_path / "bad.yaml"))


def test_the_full_embedded_size_only_grows_the_default():
    small, full = load_recipe("embedded"), load_recipe("embedded-full")
    assert full.data.train_limit > small.data.train_limit and full.data.teacher_train_limit > small.data.teacher_train_limit
    for name, n in small.eval.limit.items():
        bigger = full.eval.limit[name]
        if isinstance(n, dict):
            assert all(bigger[task] >= k for task, k in n.items()), name
        else:
            assert bigger >= n, name
    # same models, methods, learning rates, judges and precision: only the amounts differ
    assert (full.student, full.teacher, full.stages, full.eval.judges, full.precision) == \
           (small.student, small.teacher, small.stages, small.eval.judges, small.precision)


def test_bench_eval_and_the_recipes_use_one_default_judge_per_profile():
    """`bench eval` without --judge, `bench judge-check` without --judge and `make reproduce-table2` score with the
    same judge: a table's column and the judge its footnote quotes must not depend on the command that made it."""
    from bench.judges import DEFAULT_JUDGES

    for profile in ("embedded", "embedded-full"):
        named = load_recipe(profile).eval.judges
        assert named == {b: DEFAULT_JUDGES["embedded"][b] for b in named} and set(named) == {"mt_bench", "alpaca_eval"}
