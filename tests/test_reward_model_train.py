"""The project's reward model: Bradley-Terry training learns an easy preference, and is cached by content."""
from __future__ import annotations

import contextlib
import io
import random
from dataclasses import replace
from pathlib import Path

import pytest

from bench.evals import reward_model_train as rmt
from bench.evals.reward_model_train import RewardModelRecipe, cache_key, data_version, train_reward_model

GOOD = "good great excellent helpful clear kind".split()
BAD = "bad awful wrong rude vague poor".split()
TOPICS = "cats dogs rain maths music bread trains stars".split()


def easy_pairs(n: int, seed: int) -> list[dict]:
    """Chosen answers use one vocabulary, rejected another: learnable, and 50% for a model that cannot tell."""
    rng = random.Random(seed)
    return [{"prompt": [{"role": "user", "content": f"Tell me about {rng.choice(TOPICS)}, item {i}."}],
             "chosen": [{"role": "assistant", "content": " ".join(rng.choices(GOOD, k=4))}],
             "rejected": [{"role": "assistant", "content": " ".join(rng.choices(BAD, k=4))}]} for i in range(n)]


RECIPE = RewardModelRecipe(backbone="tiny-random", epochs=2, learning_rate=1e-3, batch_size=8, max_train_pairs=None,
                           train_layers=None)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("rm_cache")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        result = train_reward_model(easy_pairs(160, 0), easy_pairs(40, 1), RECIPE, cache_root=root)
    return root, result, printed.getvalue()


@pytest.mark.slow
def test_training_beats_chance_on_held_out_pairs(trained):
    from bench.judges.reward_model import RewardScorer

    _, result, printed = trained
    assert not result.from_cache and result.n_heldout == 40 and result.n_train == 160
    assert result.heldout_accuracy >= 0.85  # chance is 0.5; P(>= 34/40 | p=0.5) < 1e-5
    losses = result.info["logged_losses"]
    assert losses[-1] < losses[0]
    assert printed == ""  # the Trainer's per-step dicts stay out of a cold run's log (the losses are kept above)
    # The recorded accuracy is what the saved model gives when scored again.
    accuracy, _ = rmt.heldout_accuracy(RewardScorer(result.path), easy_pairs(40, 1))
    assert accuracy == result.heldout_accuracy
    assert sorted(p.suffix for p in result.path.glob("*.safetensors")) == [".safetensors"]
    assert not list(result.path.glob("*.bin")) and not list(result.path.parent.glob(".*tmp*"))


@pytest.mark.slow
def test_second_call_loads_from_cache_without_training(trained, monkeypatch):
    root, first, _ = trained

    def no_training(*args, **kwargs):
        raise AssertionError("trained again instead of loading the cache")

    monkeypatch.setattr(rmt, "_train_into", no_training)
    again = train_reward_model(easy_pairs(160, 0), easy_pairs(40, 1), RECIPE, cache_root=root)
    assert again.from_cache and again.path == first.path and again.heldout_accuracy == first.heldout_accuracy


def test_cache_key_changes_with_data_recipe_and_backbone():
    train, held = easy_pairs(8, 0), easy_pairs(4, 1)
    base = cache_key(RECIPE, "fp1", data_version(train, held))
    assert cache_key(RECIPE, "fp1", data_version(train, held)) == base
    assert cache_key(RECIPE, "fp2", data_version(train, held)) != base
    assert cache_key(replace(RECIPE, learning_rate=2e-3), "fp1", data_version(train, held)) != base
    assert cache_key(RECIPE, "fp1", data_version(easy_pairs(8, 5), held)) != base
    assert cache_key(RECIPE, "fp1", data_version(held, train)) != base  # which pairs are held out matters


def test_recipe_rejects_nonsense():
    with pytest.raises(ValueError):
        RewardModelRecipe(learning_rate=0)
    with pytest.raises(ValueError):
        train_reward_model([], easy_pairs(2, 0), RECIPE, cache_root=Path("/nonexistent"))
