"""`bench run --dry-run`: the plan as a table (stages, inputs, settings, rough token counts, cache state)."""
from __future__ import annotations

from dataclasses import asdict

from bench.recipe import Recipe

from .plan import Stage

_RELEVANT_LOSS = {"dpo": ("beta",), "dckd": ("sft_weight", "distill_weight", "chosen_distill_weight", "rejected_distill_weight"),
                  "adpa": ("sft_weight", "adpa_weight", "adpa_clip"), "adpa_plus": ("sft_weight", "adpa_weight", "adpa_clip")}


def estimate_tokens(plan: dict[str, Stage], recipe: Recipe, counts: dict) -> dict[str, int]:
    """Rough tokens processed per stage (forward passes; training counts each epoch). ``counts``: data kind ->
    (examples, mean prompt tokens, mean response tokens)."""
    est = {}
    max_new = recipe.generation.max_new_tokens
    for name, s in plan.items():
        n_train, p_train, r_train = counts["pref_train"]
        if s.kind == "train":
            kind = "sft" if "sft" in s.data else "pref_train"
            n, p, r = counts[kind]
            per = (p + r) if kind == "sft" else 2 * (p + r)
            extra = 2 * n * (p + r) if s.config["method"] == "dpo" else 0
            est[name] = int(s.config["training"]["epochs"] * n * per + extra)
        elif s.kind == "topk":
            est[name] = int(2 * n_train * (p_train + r_train))
        elif s.kind in ("samples", "advantages", "sample_topk"):
            per_prompt = s.config["decoding"]["samples_per_prompt"] if isinstance(s.config.get("decoding"), dict) else 1
            est[name] = int((2 if s.kind == "advantages" else 1) * per_prompt * n_train * (p_train + max_new))
        else:
            n, p, r = counts["pref_test"]
            est[name] = int(2 * n * (p + r))
    return est


def recipe_counts(recipe: Recipe) -> dict:
    """Counts from the recipe's ``data.estimate`` when the data is not loaded (e.g. offline for the paper plan)."""
    e, d = recipe.data.estimate, recipe.data
    p, r = e.get("prompt_tokens", 100), e.get("response_tokens", 100)
    pick = lambda limit, default: int(limit) if limit is not None else int(default)  # noqa: E731
    return {"sft": (pick(d.sft_limit, e.get("sft_conversations", 1000)), p, r),
            "pref_train": (pick(d.train_limit, e.get("train_pairs", 1000)), p, r),
            "pref_test": (pick(d.test_limit, e.get("test_pairs", 100)), p, r)}


def example_counts(examples_of) -> dict:
    def lengths(examples, keys):
        n = len(examples)
        return n, sum(len(e["prompt_ids"]) for e in examples) / n, sum(len(e[k]) for e in examples for k in keys) / (n * len(keys))

    return {"sft": lengths(examples_of("sft"), ("response_ids",)),
            "pref_train": lengths(examples_of("pref_train"), ("chosen_ids", "rejected_ids")),
            "pref_test": lengths(examples_of("pref_test"), ("chosen_ids", "rejected_ids"))}


def _settings(s: Stage) -> str:
    if s.kind == "train":
        t, loss = s.config["training"], s.config["loss"]
        return (f"{s.config['method']} lr={t['learning_rate'] or 0:g} ep={t['epochs']:g} bs={t['batch_size']}x{t['grad_accum']} "
                + " ".join([f"{k}={v}" for k, v in loss.items() if k in _RELEVANT_LOSS.get(s.config["method"], ())]
                           + [f"{k}={v}" for k, v in loss.get("settings", {}).items()]))
    if s.kind == "eval":
        return f"benchmarks={s.config['benchmarks']} limit={s.config['limit']}"
    return ", ".join(f"{k}={v}" for k, v in s.config.items() if k not in ("lengths", "precision"))


def print_plan(console, plan: dict[str, Stage], recipe: Recipe, student: str, teacher: str, methods: list[str],
               data_dir, missing: dict, cache, estimates: dict, exact_counts: bool) -> None:
    from rich.table import Table

    console.print(f"[bold]bench run[/bold]  profile={recipe.profile}  methods={','.join(methods)}  seed={recipe.seed}")
    console.print(f"  student: {student}    teacher: {teacher if any(s.role == 'teacher' for s in plan.values()) else '(not needed)'}")
    d = recipe.data
    console.print(f"  data: pairs={d.source} (train limit {d.train_limit}, test limit {d.test_limit}), sft={d.sft_source} "
                  f"(limit {d.sft_limit}); data dir: {data_dir or '(none: hub only)'}")
    console.print(f"  lengths: { {k: asdict(v) for k, v in recipe.lengths.items()} }   top-K: {recipe.topk.k}   "
                  f"generation: {asdict(recipe.generation)}   advantages: {asdict(recipe.advantages)}")
    table = Table(show_header=True, header_style="bold", box=None)
    for col in ("stage", "kind", "inputs", "settings", "est. tokens", "cache"):
        table.add_column(col)
    for name, s in plan.items():
        inputs = ", ".join(([s.base_model] if s.base_model else []) + [f"{r}={d}" for r, d in s.deps.items()])
        state = "?" if s.key is None else ("cached" if cache.is_done(name, s.key) else "to run")
        table.add_row(name, s.kind, inputs, _settings(s), f"{estimates.get(name, 0):,}" + ("" if exact_counts else " ~"), state)
    console.print(table)
    if not exact_counts:
        console.print("  [dim]~ token estimates from the recipe's data.estimate (data not loaded)[/dim]")
    for item, reason in missing.items():
        console.print(f"  [yellow]missing[/yellow] {item}: {reason}")
