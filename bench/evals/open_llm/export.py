"""lm-eval's own output files for a run: the results JSON (as ``lm_eval --output_path`` writes it, without the
samples) and one ``samples_<task>.jsonl`` per lm-eval task (as ``--log_samples`` writes them). They are exports for
lm-eval's tools and for anyone re-checking a score; this project never reads them back."""
from __future__ import annotations

import json
import os
from pathlib import Path


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_exports(out: Path, results: dict, model_name: str) -> dict[str, str]:
    from lm_eval.utils import handle_non_serializable

    def dumps(obj, **kw) -> str:
        return json.dumps(obj, default=handle_non_serializable, ensure_ascii=False, **kw)

    aggregated = {k: v for k, v in results.items() if k != "samples"}
    aggregated["config"] = {**(aggregated.get("config") or {}), "model_name": model_name}
    results_path = out / "lm_eval_results.json"
    _write_atomic(results_path, dumps(aggregated, indent=2))
    for task, samples in (results.get("samples") or {}).items():
        _write_atomic(out / f"samples_{task}.jsonl", "".join(dumps(s) + "\n" for s in samples))
    return {"lm_eval_results": str(results_path), "lm_eval_samples": str(out)}
