"""Generation with vLLM (the optional ``gpu`` extra: ``pip install -e '.[gpu]'``), giving the same records as the
Hugging Face path in methods.generate: per prompt, the response token ids cut after the first EOS, EOS kept.

vLLM loads its own copy of the weights from the model's folder (``config._name_or_path``), in the dtype of the
model passed in (so the precision policy's frozen dtype applies to both paths). One engine is kept per folder and
dtype while it is reused (MT-Bench asks twice, once per turn); asking for another model releases it first.
Its memory share is set from the GPU memory free at the time, since the Hugging Face copy is already loaded.
"""
from __future__ import annotations

import gc
import importlib.util
from pathlib import Path
from typing import Sequence

from .devices import model_device
from .sampling import GenerationSettings, item_seed, vllm_sampling_kwargs

MEMORY_SHARE_OF_FREE = 0.85  # of the GPU memory free when the engine starts (the HF model is resident too)
_engine: dict = {}


def vllm_available() -> bool:
    return importlib.util.find_spec("vllm") is not None


def model_folder(model) -> Path | None:
    """The local folder a Hugging Face model was loaded from, if any (vLLM loads the weights from there)."""
    name = getattr(getattr(model, "config", None), "_name_or_path", "") or ""
    folder = Path(name)
    return folder if name and (folder / "config.json").is_file() else None


def usable(model, backend: str) -> bool:
    """Whether ``generate_ids`` goes through vLLM: ``backend`` "vllm" (an error if it cannot), or "auto" on a CUDA
    model with vLLM installed and a model folder to load from. "hf" never."""
    if backend not in ("auto", "hf", "vllm"):
        raise ValueError(f"generation backend must be auto, hf or vllm, got {backend!r}")
    if backend == "hf":
        return False
    ready = vllm_available() and model_folder(model) is not None
    if backend == "vllm":
        if not ready:
            raise RuntimeError("generation backend vllm: vLLM is not installed (pip install -e '.[gpu]') or the model "
                               "has no local folder to load from")
        return True
    return ready and model_device(model).type == "cuda"


def _dtype_name(model) -> str:
    return str(getattr(model, "dtype", "float32")).replace("torch.", "")


def engine(folder: Path, dtype: str, seed: int):
    """The vLLM engine for (folder, dtype), started once and reused."""
    key = (str(folder), dtype)
    if _engine.get("key") != key:
        release()
        import torch
        from vllm import LLM

        free, total = torch.cuda.mem_get_info()
        _engine["llm"] = LLM(model=str(folder), tokenizer=str(folder), dtype=dtype, seed=seed, trust_remote_code=False,
                             gpu_memory_utilization=round(MEMORY_SHARE_OF_FREE * free / total, 3))
        _engine["key"] = key
    return _engine["llm"]


def release() -> None:
    """Free the engine (and its GPU memory) before another model needs the GPU."""
    if _engine.pop("llm", None) is not None:
        _engine.pop("key", None)
        gc.collect()
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def request_params(settings: GenerationSettings, seed: int, n: int) -> list:
    """One SamplingParams per request: the settings the Hugging Face path uses (methods.sampling.vllm_sampling_kwargs)
    and request i's own seed, item_seed(seed, i), so no two prompts share a random stream's start (and prompt i's
    seed is the one the Hugging Face path gives its row)."""
    from vllm import SamplingParams

    return [SamplingParams(**vllm_sampling_kwargs(settings, item_seed(seed, i))) for i in range(n)]


def to_records(outputs, eos_id: int) -> list[list[int]]:
    """vLLM's RequestOutputs (in prompt order) -> response ids cut after the first EOS, EOS kept (as the HF path)."""
    records = []
    for output in outputs:
        completion = output.outputs[0]
        tokens = list(completion.token_ids)
        if eos_id in tokens:
            tokens = tokens[: tokens.index(eos_id) + 1]
        elif eos_id >= 0 and getattr(completion, "stop_reason", None) == eos_id:
            tokens.append(eos_id)  # a vLLM that leaves the stop token out of the ids
        records.append(tokens)
    return records


def generate_ids(model, prompt_ids: Sequence[Sequence[int]], eos_id: int, max_new_tokens: int, temperature: float,
                 top_p: float, seed: int) -> list[list[int]]:
    llm = engine(model_folder(model), _dtype_name(model), seed)
    prompts = [{"prompt_token_ids": list(map(int, p))} for p in prompt_ids]
    settings = GenerationSettings(max_new_tokens, eos_id, temperature, top_p)
    outputs = llm.generate(prompts, request_params(settings, seed, len(prompts)), use_tqdm=False)
    return to_records(outputs, eos_id)
