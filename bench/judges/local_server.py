"""A real OpenAI-compatible judge server on loopback: llama-cpp-python's server with a judge GGUF.

``LocalServer`` starts ``python -m llama_cpp.server`` on 127.0.0.1 with a free port, waits until
``/v1/models`` answers, and stops the process when the context ends (exceptions included; an atexit
hook covers interpreters that exit without closing it).
"""
from __future__ import annotations

import atexit
import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.models import SMOLLM2_GGUF, smollm2_folder

from .base import JudgeUnavailable
from .engine_check import FIX, exit_status

MODEL_ALIAS = "smollm2-135m-instruct-q4_1"


class ServerError(JudgeUnavailable):
    """The judge server could not start, or died: no judgment can be had from it."""


def _die_with_parent() -> None:
    """Linux: the server gets SIGTERM when the bench process dies, even by a signal that skips atexit."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - elsewhere, atexit and the context manager are the only guards
        pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def smollm2_gguf() -> Path:
    return smollm2_folder() / SMOLLM2_GGUF


def file_digest(path: Path, chars: int = 12) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:chars]


class LocalServer:
    def __init__(self, model_path: Path | None = None, alias: str = MODEL_ALIAS, n_ctx: int = 4096,
                 n_threads: int | None = None, startup_timeout_s: float = 120.0, log_path: Path | None = None,
                 logits_all: bool = False):
        self.model_path = Path(model_path) if model_path else smollm2_gguf()
        # Log-probabilities (the expected-rating mode) need the logits of every position kept; it costs the LM
        # head on each prompt token, so only judges that read probabilities turn it on.
        self.logits_all = logits_all
        self.alias, self.n_ctx = alias, n_ctx
        # Judging starts once the answers are written (MT-Bench, AlpacaEval): every core is free then. Beyond 4
        # threads llama.cpp gains little for these small models. On a machine busy with other work, fewer threads are
        # faster (they wait for each other): eval.options.judge_threads / judge-check --threads.
        self.n_threads = n_threads or max(1, min(4, os.cpu_count() or 2))
        self.startup_timeout_s = startup_timeout_s
        self.log_path = log_path
        self.port: int | None = None
        self.process: subprocess.Popen | None = None
        self._log = None

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise ServerError("the local judge server is not running")
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> "LocalServer":
        if self.process is not None:
            return self
        if not self.model_path.exists():
            raise ServerError(f"judge model file {self.model_path} does not exist")
        self.port = free_port()
        if self.log_path:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = open(self.log_path, "wb")
        else:
            self._log = tempfile.TemporaryFile()
        cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(self.model_path), "--model_alias", self.alias,
               "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", str(self.n_ctx),
               "--n_threads", str(self.n_threads), "--n_threads_batch", str(self.n_threads),
               # The server's default computes logits for every prompt position (for echo/logprobs), which
               # makes the LM head the bulk of a long judge prompt's cost; judges read generated tokens only.
               "--logits_all", "true" if self.logits_all else "false"]
        self.process = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)
        atexit.register(self.stop)
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                tail = self._log_tail()
                self.stop()
                raise ServerError(f"llama_cpp.server exited with {exit_status(code)} while starting; the end of its log:\n{tail}\n"
                                  f"(it needs llama-cpp-python[server] as `make setup` installs it; if it crashed: {FIX})")
            try:
                if httpx.get(f"{self.base_url}/models", timeout=2.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        tail = self._log_tail()
        self.stop()
        raise ServerError(f"llama_cpp.server did not answer within {self.startup_timeout_s:.0f} s:\n{tail}")

    def raise_if_dead(self) -> None:
        """After a failed request: if the server process has exited (any exit, a signal included), raise ServerError
        with its exit status and the end of its log, instead of letting every later request say "Connection refused"."""
        process = self.process
        code = process.poll() if process is not None else None
        if code is None:
            return
        tail = self._log_tail()
        self.stop()
        raise ServerError(f"the local judge server (llama_cpp.server, {self.model_path.name}) died: {exit_status(code)}; "
                          f"the end of its log:\n{tail}\n(if it crashed on this CPU: {FIX})")

    def _log_tail(self, n: int = 2000) -> str:
        if self._log is None:
            return ""
        try:
            self._log.flush()
            self._log.seek(0)
            return self._log.read().decode(errors="replace")[-n:]
        except (OSError, ValueError):
            return ""

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if self._log is not None:
            try:
                self._log.close()
            except OSError:
                pass
            self._log = None
        atexit.unregister(self.stop)

    def __enter__(self) -> "LocalServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
