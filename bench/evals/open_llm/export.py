"""lm-eval's own output files for a run: the results JSON (as ``lm_eval --output_path`` writes it, without the
samples) and one ``samples_<task>.jsonl`` per lm-eval task (as ``--log_samples`` writes them). They are exports for
lm-eval's tools and for anyone re-checking a score; this project never reads them back."""
from __future__ import annotations

from pathlib import Path

from bench.io import write_json, write_jsonl
from bench.results import finite_or_none


def write_exports(out: Path, results: dict, model_name: str) -> dict[str, str]:
    from lm_eval.utils import handle_non_serializable  # numpy numbers and sets, as lm-eval writes them

    aggregated = {k: v for k, v in results.items() if k != "samples"}
    aggregated["config"] = {**(aggregated.get("config") or {}), "model_name": model_name}
    results_path = out / "lm_eval_results.json"
    write_json(results_path, finite_or_none(aggregated), default=handle_non_serializable)
    for task, samples in (results.get("samples") or {}).items():
        write_jsonl(out / f"samples_{task}.jsonl", finite_or_none(samples), default=handle_non_serializable)
    return {"lm_eval_results": str(results_path), "lm_eval_samples": str(out)}
