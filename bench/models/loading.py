"""Loading a model or tokenizer in the dtype the precision policy gives its role, and what identifies a model's
content (cache keys, manifests)."""
from __future__ import annotations

import hashlib
import json
import os

from methods.tokenize import ensure_chat_template

from .aliases import ALIASES, STUDENT_KEEP, BadModelFolder
from .folders import materialise

def load_tokenizer(spec: str):
    from transformers import AutoTokenizer  # deferred: slow (torch)

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
    import torch  # deferred: slow

    if not torch.cuda.is_available():
        return "cpu"
    return f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"


def role_dtype(role: str, precision=None, device: str | None = None):
    """The dtype the precision policy (default ``Precision()``) gives a model of ``role`` on ``device``:
    fp32 for a model the optimiser updates; the policy's frozen dtype for one that is only run (teachers, the
    advantage baseline, reward models, evaluated models)."""
    from methods.precision import Precision  # deferred: it imports torch; bench.models stays light

    if role not in ROLES:
        raise ValueError(f"model role must be one of {', '.join(ROLES)}, got {role!r}")
    precision = precision or Precision()
    return precision.trainable_dtype() if role == "trainable" else precision.frozen_dtype(device or default_device())


def load_model(spec: str, role: str = "frozen", precision=None, device: str | None = None, dtype=None):
    """A causal LM on ``device`` (default: CUDA when there is one) in the dtype the precision policy gives its
    ``role`` (bench.models.role_dtype); ``dtype`` overrides the policy (perf's measured models)."""
    from transformers import AutoModelForCausalLM  # deferred, as above

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
