"""The local judge's engine fails early and clearly: a crashed server is named with its exit status and log,
never reported as "Connection refused", and `make setup`'s engine check names the package, the CPU and the fix."""
from __future__ import annotations

import subprocess
import sys
import tempfile

import pytest

from bench.judges import RatingRequest, get_judge
from bench.judges.engine_check import cpu_flags, exit_status, probe
from bench.judges.local_server import ServerError, free_port

CRASH = "import os, signal, sys; print('llama_model_load: loaded'); sys.stdout.flush(); os.kill(os.getpid(), signal.SIGSEGV)"


def test_exit_status_names_the_signal():
    assert exit_status(-11) == "killed by signal 11 (SIGSEGV)"
    assert exit_status(-4) == "killed by signal 4 (SIGILL)"
    assert exit_status(2) == "exit code 2"


def test_a_server_that_dies_after_starting_is_reported_with_its_signal_and_log(tmp_path):
    judge = get_judge("local-smollm2", cache_dir=tmp_path)
    server = judge.server
    # Stand-in for llama_cpp.server segfaulting on its first multi-token prompt: it was up, now it is gone.
    server._log = tempfile.TemporaryFile()
    server.process = subprocess.Popen([sys.executable, "-c", CRASH], stdout=server._log, stderr=subprocess.STDOUT)
    server.process.wait(timeout=30)
    server.port = free_port()  # nothing listens there any more: a plain client would see "Connection refused"
    judge.base_url = server.base_url
    try:
        with pytest.raises(ServerError) as caught:
            judge.rate([RatingRequest(messages=[{"role": "user", "content": "Rate: the capital of France is Paris."}])])
    finally:
        judge.close()
    message = str(caught.value)
    assert "killed by signal 11 (SIGSEGV)" in message and "llama_model_load: loaded" in message
    assert "Connection refused" not in message and "GGML_NATIVE=OFF" in message
    assert server.process is None  # stopped and forgotten: nothing left running


def test_engine_check_names_package_cpu_and_fix_when_the_engine_crashes(tmp_path, monkeypatch):
    monkeypatch.setattr("bench.judges.engine_check.PROBE", CRASH)
    ok, line = probe(tmp_path / "model.gguf")
    assert not ok
    assert line.startswith("llama-cpp-python ") and "killed by signal 11 (SIGSEGV)" in line
    assert "GGML_NATIVE=OFF" in line and "\n" not in line
    if cpu_flags():
        assert "avx2" in line


@pytest.mark.slow
def test_engine_check_runs_the_real_engine_on_a_multi_token_prompt():
    done = subprocess.run([sys.executable, "-m", "bench.judges.engine_check"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "runs the local judge's model on this CPU" in done.stdout
