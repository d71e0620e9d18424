"""The embedded profile's reward model: a SmolLM2 backbone with a scoring head, trained on preference pairs.

``AutoModelForSequenceClassification`` (num_labels=1) on top of the backbone, trained by TRL's
``RewardTrainer`` (Bradley-Terry loss ``-log sigmoid(r(chosen) - r(rejected))``) on sequences tokenised
exactly as ``bench.judges.reward_model.RewardScorer`` scores them, so training and scoring agree.
Its held-out pair accuracy (the fraction of held-out pairs it scores chosen above rejected) is measured
with that scorer after training.

The result is cached as a safetensors model folder under ``BENCH_CACHE_DIR/reward_models/<key>``, where
the key hashes the backbone's fingerprint, the training and held-out data, and the recipe; the folder is
built under a temporary name and renamed into place, so a reader never sees half a model.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

from methods.tokenize import ensure_chat_template

from bench.datasets import get_source
from bench.judges.reward_model import RewardScorer, encode_chat
from bench.models import cache_dir, fingerprint, materialise

RECIPE_VERSION = 1  # bump when the training code changes in a way that changes the model


@dataclass(frozen=True)
class RewardModelRecipe:
    """Defaults sized for a few CPU minutes: the embedded student backbone, its top layers trained, a subset of pairs."""

    backbone: str = "smollm2-8l"
    epochs: float = 1.0
    learning_rate: float = 1e-4
    batch_size: int = 8
    max_length: int = 512  # pairs longer than this are dropped (TRL's rule) and counted
    warmup_ratio: float = 0.05  # of the total steps
    seed: int = 0
    max_train_pairs: int | None = 256  # first N training pairs only (None: all)
    train_layers: int | None = 2  # top N transformer layers trained with the head and final norm (None: all)

    def __post_init__(self):
        if self.epochs <= 0 or self.learning_rate <= 0 or self.batch_size < 1 or self.max_length < 8:
            raise ValueError(f"invalid reward-model recipe: {self}")


@dataclass
class TrainedRewardModel:
    path: Path
    key: str
    heldout_accuracy: float | None
    n_heldout: int
    n_train: int
    train_time_s: float
    from_cache: bool
    info: dict  # everything recorded at training time (recipe, data version, losses ...)


def data_version(train_pairs: Sequence[dict], heldout_pairs: Sequence[dict]) -> str:
    h = hashlib.sha256()
    for name, pairs in (("train", train_pairs), ("heldout", heldout_pairs)):
        h.update(name.encode())
        for pair in pairs:
            h.update(json.dumps({k: pair[k] for k in ("prompt", "chosen", "rejected")}, sort_keys=True).encode())
    return h.hexdigest()[:16]


def cache_key(recipe: RewardModelRecipe, backbone_fingerprint: str, data: str) -> str:
    payload = {"recipe": asdict(recipe), "recipe_version": RECIPE_VERSION, "backbone": backbone_fingerprint, "data": data}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:20]


def reward_model_cache_root() -> Path:
    return cache_dir() / "reward_models"


def heldout_accuracy(scorer, pairs: Sequence[dict]) -> tuple[float | None, list[tuple[float, float]]]:
    """Fraction of pairs with r(chosen) > r(rejected) (a tie counts as wrong), and the score pairs."""
    if not pairs:
        return None, []
    prompts = [p["prompt"] for p in pairs]
    chosen = scorer.score(prompts, [p["chosen"][0]["content"] for p in pairs])
    rejected = scorer.score(prompts, [p["rejected"][0]["content"] for p in pairs])
    return sum(c > r for c, r in zip(chosen, rejected)) / len(pairs), list(zip(chosen, rejected))


def _freeze_below(model, train_layers: int | None) -> int:
    """Train only the top ``train_layers`` decoder layers, the final norm and the head (backward stops there)."""
    if train_layers is not None:
        base = model.base_model
        layers = base.layers
        if not 0 <= train_layers <= len(layers):
            raise ValueError(f"train_layers={train_layers}: the backbone has {len(layers)} layers")
        for p in base.parameters():
            p.requires_grad_(False)
        for layer in list(layers)[len(layers) - train_layers:]:
            for p in layer.parameters():
                p.requires_grad_(True)
        for p in base.norm.parameters():
            p.requires_grad_(True)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _train_into(folder: Path, train_pairs: Sequence[dict], recipe: RewardModelRecipe, work_dir: Path) -> dict:
    import torch
    from datasets import Dataset
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, PrinterCallback
    from trl import RewardConfig, RewardTrainer

    backbone_dir = materialise(recipe.backbone)
    tokenizer = AutoTokenizer.from_pretrained(backbone_dir)
    ensure_chat_template(tokenizer)
    if tokenizer.pad_token_id == tokenizer.eos_token_id and "<|endoftext|>" in tokenizer.get_vocab():
        # A pad token distinct from the end-of-turn token keeps "last non-pad token" = the real last token.
        tokenizer.pad_token = "<|endoftext|>"
    torch.manual_seed(recipe.seed)  # the scoring head's initialisation
    model = AutoModelForSequenceClassification.from_pretrained(backbone_dir, num_labels=1, dtype=torch.float32)
    model.config.pad_token_id = tokenizer.pad_token_id
    trainable = _freeze_below(model, recipe.train_layers)
    rows = {"chosen_ids": [], "rejected_ids": []}
    for pair in train_pairs:
        rows["chosen_ids"].append(encode_chat(tokenizer, pair["prompt"], pair["chosen"][0]["content"]))
        rows["rejected_ids"].append(encode_chat(tokenizer, pair["prompt"], pair["rejected"][0]["content"]))
    n_kept = sum(max(len(c), len(r)) <= recipe.max_length for c, r in zip(rows["chosen_ids"], rows["rejected_ids"]))
    if n_kept == 0:
        raise ValueError(f"no training pair fits max_length={recipe.max_length} tokens")

    from methods.precision import cuda_bf16_native  # deferred with torch above; compute capability >= 8.0, not is_bf16_supported()

    on_gpu = torch.cuda.is_available()
    args = RewardConfig(
        output_dir=str(work_dir), num_train_epochs=recipe.epochs, learning_rate=recipe.learning_rate,
        per_device_train_batch_size=recipe.batch_size, warmup_steps=recipe.warmup_ratio, lr_scheduler_type="linear",
        max_length=recipe.max_length, seed=recipe.seed, data_seed=recipe.seed, bf16=on_gpu and cuda_bf16_native(),
        activation_checkpointing=False, save_strategy="no", report_to=[], logging_steps=5, dataloader_num_workers=0,
        disable_tqdm=True, use_cpu=not on_gpu,
    )
    trainer = RewardTrainer(model=model, args=args, train_dataset=Dataset.from_dict(rows), processing_class=tokenizer)
    trainer.remove_callback(PrinterCallback)  # it prints a dict per logging step (disable_tqdm); log_history keeps them
    trainer.train()
    losses = [log["loss"] for log in trainer.state.log_history if "loss" in log]
    train_acc = [log["accuracy"] for log in trainer.state.log_history if "accuracy" in log and "loss" in log]
    trainer.model.config.pad_token_id = tokenizer.pad_token_id
    trainer.model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return {"n_train": len(train_pairs), "n_train_used": n_kept, "trainable_parameters": trainable, "logged_losses": losses, "logged_train_accuracy": train_acc,
            "steps": trainer.state.global_step}


def train_reward_model(train_pairs: Sequence[dict], heldout_pairs: Sequence[dict],
                       recipe: RewardModelRecipe = RewardModelRecipe(), cache_root: Path | None = None) -> TrainedRewardModel:
    """Train (or load from the cache) a reward model on preference records {prompt, chosen, rejected}."""
    if not train_pairs:
        raise ValueError("no training pairs for the reward model")
    if recipe.max_train_pairs is not None:
        train_pairs = list(train_pairs)[: recipe.max_train_pairs]
    data = data_version(train_pairs, heldout_pairs)
    key = cache_key(recipe, fingerprint(recipe.backbone), data)
    target = (cache_root or reward_model_cache_root()) / key
    info_file = target / "reward_model_info.json"
    if info_file.exists():
        info = json.loads(info_file.read_text())
        return TrainedRewardModel(target, key, info["heldout_accuracy"], info["n_heldout"], info["n_train"],
                                  info["train_time_s"], True, info)

    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        started = time.perf_counter()
        trained = _train_into(tmp, train_pairs, recipe, tmp / "trainer")
        train_time = time.perf_counter() - started
        shutil.rmtree(tmp / "trainer", ignore_errors=True)
        scorer = RewardScorer(tmp)
        accuracy, scores = heldout_accuracy(scorer, heldout_pairs)
        scorer.close()
        info = {"key": key, "recipe": asdict(recipe), "recipe_version": RECIPE_VERSION, "data_version": data,
                "backbone_fingerprint": fingerprint(recipe.backbone), "heldout_accuracy": accuracy,
                "n_heldout": len(heldout_pairs), "train_time_s": round(train_time, 2), **trained,
                "heldout_margin_mean": (sum(c - r for c, r in scores) / len(scores)) if scores else None}
        (tmp / "reward_model_info.json").write_text(json.dumps(info, indent=2))
        if target.exists():  # a concurrent build won; keep theirs
            shutil.rmtree(tmp, ignore_errors=True)
            return train_reward_model(train_pairs, heldout_pairs, recipe, cache_root)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return TrainedRewardModel(target, key, accuracy, len(heldout_pairs), len(train_pairs), train_time, False, info)


def embedded_reward_model(data_dir: Path | None = None, recipe: RewardModelRecipe = RewardModelRecipe(),
                          dataset: str = "builtin", cache_root: Path | None = None) -> TrainedRewardModel:
    """The embedded profile's reward model: trained on ``dataset``'s train pairs, held out on its test pairs."""
    source = get_source(dataset)
    return train_reward_model(source.preference("train", data_dir), source.preference("test", data_dir), recipe, cache_root)
