"""The stage graph of the methods beyond the paper: what they plan, how their sampling schedule keys the cached
samples, and the recipe switch that makes them extra table rows. Fast, in-process."""
from __future__ import annotations

import pytest

from methods.registry import PAPER_METHODS

from bench.commands.run import method_names
from bench.pipeline.plan import build_plan, compute_keys
from bench.recipe import RecipeError, load_recipe

FPS = {"stu": "s" * 16, "tea": "t" * 16}
DATA = {"sft": "a", "pref_train": "b", "pref_teacher": "t", "pref_test": "c"}
GKD_SAMPLES = "samples_sft_t0.9p1n1"  # GKD's defaults: temperature 0.9, top-p 1, one per prompt
DL2_SAMPLES = "samples_sft_t0.8p0.95n1"  # DistiLLM-2's: temperature 0.8, top-p 0.95


def plan_for(methods, overrides=()):
    plan = build_plan(load_recipe("test", list(overrides)), list(methods), "stu", "tea")
    compute_keys(plan, FPS, DATA, 42, "stu")
    return plan


def test_each_plans_exactly_the_stages_it_needs():
    assert set(plan_for(["simpo"])) == {"sft", "simpo", "eval_simpo"}
    for name, samples in (("gkd", GKD_SAMPLES), ("distillm2", DL2_SAMPLES)):
        plan = plan_for([name])
        assert set(plan) == {"sft", samples, "ref_teacher", "dpo_teacher", "teacher_topk", f"teacher_topk_{samples}", name, f"eval_{name}"}
        assert plan[name].deps == {"init": "sft", "teacher_topk": "teacher_topk", "samples": samples,
                                   "sample_topk": f"teacher_topk_{samples}"}
        assert plan[f"teacher_topk_{samples}"].deps == {"teacher": "dpo_teacher", "samples": samples}
        assert plan[f"teacher_topk_{samples}"].kind == "sample_topk"
        names = list(plan)
        assert all(names.index(dep) < names.index(stage) for stage in names for dep in plan[stage].deps.values())


def test_the_sampling_schedule_is_in_the_samples_config_and_key():
    base = plan_for(["gkd"])
    assert base[GKD_SAMPLES].config["decoding"] == {"temperature": 0.9, "top_p": 1.0, "samples_per_prompt": 1}
    hotter = plan_for(["gkd"], ["stages.gkd.loss.settings.temperature=1.2"])
    assert "samples_sft_t1.2p1n1" in hotter and GKD_SAMPLES not in hotter
    more = plan_for(["gkd"], ["stages.gkd.loss.settings.samples_per_prompt=2"])
    assert more["samples_sft_t0.9p1n2"].key != base[GKD_SAMPLES].key
    # a loss-only setting retrains GKD but reuses the cached samples and the teacher's top-K on them
    lam = plan_for(["gkd"], ["stages.gkd.loss.settings.lmbda=1.0"])
    assert {n for n in base if base[n].key != lam[n].key} == {"gkd", "eval_gkd"}
    # so does redrawing samples during training: the cached ones still fill the micro-batches between redraws
    redraw = plan_for(["gkd"], ["stages.gkd.loss.settings.resample_every=4"])
    assert {n for n in base if base[n].key != redraw[n].key} == {"gkd", "eval_gkd"}
    # the greedy ADPA samples are untouched by any of it
    both = plan_for(["adpa", "gkd"], ["stages.gkd.loss.settings.temperature=1.2"])
    assert both["samples_sft"].config["decoding"] == "greedy" and both["samples_sft"].key == plan_for(["adpa"])["samples_sft"].key


def test_two_methods_with_the_same_schedule_share_their_samples():
    plan = plan_for(["gkd", "distillm2"], ["stages.distillm2.loss.settings.sample_temperature=0.9",
                                          "stages.distillm2.loss.settings.top_p=1.0"])
    assert plan["gkd"].deps["samples"] == plan["distillm2"].deps["samples"] == GKD_SAMPLES


def test_settings_are_written_out_in_full_and_the_paper_methods_keep_their_config():
    plan = plan_for(["simpo", "dckd"])
    assert plan["simpo"].config["loss"]["settings"] == {"beta": 2.0, "gamma": 1.0, "label_smoothing": 0.0}
    assert "settings" not in plan["dckd"].config["loss"]  # the paper methods' stage keys are unchanged


def test_all_is_the_paper_plus_the_recipe_switch():
    assert method_names("all") == list(PAPER_METHODS) == ["sft", "dpo", "dckd", "adpa", "adpa_plus"]
    recipe = load_recipe("embedded", ["extra_methods=[distillm2,gkd,simpo]"])
    assert method_names("all", recipe.extra_methods) == [*PAPER_METHODS, "distillm2", "gkd", "simpo"]
    assert load_recipe("embedded").extra_methods == []  # off in the default table


@pytest.mark.parametrize("override, where", [
    ("extra_methods=[dpo]", "extra_methods"),
    ("stages.gkd.loss.settings.beta=2.0", "stages.gkd.loss.settings"),
    ("stages.simpo.loss.settings.gamma_ratio=0.5", "stages.simpo.loss.settings"),
    ("stages.dckd.loss.settings.alpha=0.1", "stages.dckd.loss.settings"),
])
def test_bad_recipe_settings_fail_naming_the_field(override, where):
    with pytest.raises(RecipeError, match=where.replace(".", r"\.")):
        load_recipe("test", [override])

