"""AlpacaEval win rates from annotations, with alpaca_eval's own metric functions.

``win_rate`` (and its standard error, wins, draws) comes from ``alpaca_eval.metrics.get_winrate``.
The length-controlled win rate comes from ``alpaca_eval.metrics.get_length_controlled_winrate``
(GLM ``length_controlled_v1``), which needs AlpacaEval's instruction-difficulty file ``df_gamed.csv``
from the Hugging Face Hub. It is looked for in ``<data_dir>/alpaca_eval/df_gamed.csv`` and in the
Hugging Face cache. When it is in neither, the LC value is computed by a documented fallback and
labelled as such: alpaca_eval's ``length_controlled_minimal`` GLM (``tanh(std_delta_len) +
not_gamed_baseline``: the same length correction without the instruction-difficulty term and without
the regularisation towards the gamed baselines), fitted with alpaca_eval's own design-matrix and
logistic-regression helpers. Annotations must be in AlpacaEval's instruction order (row i = item i),
as alpaca_eval itself assumes.
"""
from __future__ import annotations

import logging
from pathlib import Path
from unittest import mock

import pandas as pd

from bench import datasets

DF_GAMED = "df_gamed.csv"
LC_FALLBACK = "length_controlled_minimal"


def find_df_gamed(data_dir: Path | str | None) -> Path | None:
    folder = datasets.data_dir(data_dir)
    if folder and (folder / "alpaca_eval" / DF_GAMED).is_file():
        return folder / "alpaca_eval" / DF_GAMED
    try:
        from alpaca_eval import constants
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache("tatsu-lab/alpaca_eval", DF_GAMED, repo_type="dataset",
                                        cache_dir=constants.DEFAULT_CACHE_DIR)
        return Path(cached) if isinstance(cached, str) else None
    except Exception:  # noqa: BLE001 - no cache means "not available", which the caller reports
        return None


def _as_frame(annotations) -> pd.DataFrame:
    df = pd.DataFrame(list(annotations)) if not isinstance(annotations, pd.DataFrame) else annotations.copy()
    missing = [c for c in ("preference",) if c not in df.columns]
    if missing:
        raise ValueError(f"annotations lack field(s) {', '.join(missing)}")
    df = df.reset_index(drop=True)
    df["preference"] = pd.to_numeric(df["preference"], errors="coerce")
    return df


def _fallback_lc(df: pd.DataFrame) -> tuple[float, float]:
    from alpaca_eval.metrics.glm_winrate import GLM_INFO, fit_LogisticRegressionCV, make_dmatrix_for_model

    info = GLM_INFO[LC_FALLBACK]
    delta = df["output_1"].str.len() - df["output_2"].str.len()
    spread = delta.std()
    # Equal lengths everywhere carry no length signal (alpaca_eval would divide by zero here).
    std_delta = delta / spread if spread and spread == spread else delta * 0.0
    train = pd.DataFrame({"preference": df["preference"].astype(float).replace({0.0: 1.5}) - 1,
                          "std_delta_len": std_delta, "not_gamed_baseline": True})
    test = train[["not_gamed_baseline"]].copy()
    test["std_delta_len"] = 0
    xy_train, x_test = make_dmatrix_for_model(train, test, formula=info["formula"])
    xy_train = xy_train[xy_train["preference"].notna()]
    model = fit_LogisticRegressionCV(xy_train, "preference", is_ytrue_proba=True, **info["kwargs"])
    predicted = pd.Series(model.predict_proba(x_test)[:, 1])
    return float(predicted.mean() * 100), float(predicted.sem() * 100)


def leaderboard_metrics(annotations, data_dir: Path | str | None = None) -> dict:
    """The leaderboard columns: win_rate, standard_error, n_wins, n_wins_base, n_draws, n_total,
    discrete_win_rate, length_controlled_winrate, lc_standard_error, plus how LC was computed."""
    from alpaca_eval.metrics import get_winrate

    df = _as_frame(annotations)
    rated = df[df["preference"].notna()]
    metrics = {k: (float(v) if hasattr(v, "__float__") else v) for k, v in get_winrate(rated).items()}
    for k in ("n_wins", "n_wins_base", "n_draws", "n_total"):
        metrics[k] = int(metrics[k])
    metrics["n_unannotated"] = int(len(df) - len(rated))
    metrics.update(length_controlled_winrate=None, lc_standard_error=None, lc_method=None, lc_note=None)
    if not {"output_1", "output_2", "generator_1", "generator_2"} <= set(df.columns):
        metrics["lc_note"] = "annotations lack output_1/output_2/generator_1/generator_2: LC not computed"
        return metrics
    gamed = find_df_gamed(data_dir)
    try:
        if gamed is not None:
            from alpaca_eval.metrics import glm_winrate

            # alpaca_eval downloads df_gamed.csv from the hub; hand it the local copy instead.
            with mock.patch.object(glm_winrate, "hf_hub_download", lambda **kwargs: str(gamed)):
                lc = glm_winrate.get_length_controlled_winrate(df, save_weights_dir=None, is_add_glm_preference_inplace=False)
            metrics.update(length_controlled_winrate=float(lc["length_controlled_winrate"]),
                           lc_standard_error=float(lc["lc_standard_error"]), lc_method="length_controlled_v1",
                           lc_note=f"alpaca_eval get_length_controlled_winrate with {gamed}")
        else:
            value, sem = _fallback_lc(df)
            metrics.update(length_controlled_winrate=value, lc_standard_error=sem, lc_method=LC_FALLBACK,
                           lc_note=f"FALLBACK: {DF_GAMED} (AlpacaEval instruction difficulty, Hugging Face Hub) not found in "
                                   f"<data_dir>/alpaca_eval or the HF cache; LC from alpaca_eval's {LC_FALLBACK} GLM "
                                   "(length term only, no instruction difficulty, no regularisation to gamed baselines)")
    except Exception as err:  # noqa: BLE001 - e.g. fewer items than the GLM's 5 cross-validation folds
        logging.warning("length-controlled win rate not computed: %s", err)
        metrics["lc_method"] = "length_controlled_v1" if gamed else LC_FALLBACK
        prefix = "" if gamed else f"{DF_GAMED} not available offline; the fallback "
        metrics["lc_note"] = f"{prefix}LC GLM ({metrics['lc_method']}) failed: {type(err).__name__}: {err}"
    return metrics
