"""Recipes: typed, validated run configurations (schema), loaded from bench/recipe/profiles/*.yaml or any recipe
file with --set overrides (load)."""
from .fields import RecipeError
from .load import DEFAULT_PROFILE, PROFILES, apply_override, load_recipe, profile_for, recipe_path
from .schema import (TEACHER_STAGES, TRAINING_FIELDS, AdvantagesConfig, DataConfig, EvalConfig, Figure5Config,
                     GenerationConfig, LengthsConfig, Recipe, TopKConfig, TrainingConfig, read_recipe)

__all__ = ["DEFAULT_PROFILE", "PROFILES", "TEACHER_STAGES", "TRAINING_FIELDS", "AdvantagesConfig", "DataConfig",
           "EvalConfig", "Figure5Config", "GenerationConfig", "LengthsConfig", "Recipe", "RecipeError", "TopKConfig",
           "TrainingConfig", "apply_override", "load_recipe", "profile_for", "read_recipe", "recipe_path"]
