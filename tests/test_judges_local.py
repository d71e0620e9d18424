"""The local judge: a real llama.cpp server (SmolLM2-135M GGUF) on loopback, started and stopped by the bench."""
from __future__ import annotations

import httpx
import pytest

from bench.judges import RatingRequest, get_judge
from bench.judges.local_server import LocalServer, ServerError

pytestmark = pytest.mark.slow


def test_local_judge_rates_with_a_parsed_rating_and_stops(tmp_path):
    judge = get_judge("local-smollm2", cache_dir=tmp_path, log_dir=tmp_path)
    messages = [{"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": "[Instruction]\nRate the response on a scale of 1 to 10 by strictly following "
                                            "this format: \"[[rating]]\".\n\n[Question]\nWhat is 2+2?\n\n"
                                            "[The Start of Assistant's Answer]\n4\n[The End of Assistant's Answer]"}]
    try:
        [rating] = judge.rate([RatingRequest(messages=messages)])
        base_url = judge.base_url
        assert httpx.get(f"{base_url}/models", timeout=5).status_code == 200
    finally:
        judge.close()
    assert rating.error is None, rating.error
    assert rating.rating in {float(n) for n in range(1, 11)}
    assert f"[[{int(rating.rating)}]]" in rating.raw  # the grammar's verdict, read by FastChat's pattern
    assert judge.stats.requests_sent == 1
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{base_url}/models", timeout=2)  # the server is gone

    # A second judge on the same cache answers without starting a server at all.
    again = get_judge("local-smollm2", cache_dir=tmp_path)
    try:
        [cached] = again.rate([RatingRequest(messages=messages)])
        assert cached.rating == rating.rating and again.server.process is None and again.stats.requests_sent == 0
    finally:
        again.close()


def test_server_stops_on_exception_and_reports_bad_model(tmp_path):
    with pytest.raises(RuntimeError, match="boom"):
        with LocalServer() as server:
            process = server.process
            raise RuntimeError("boom")
    assert process.poll() is not None
    bad = tmp_path / "not-a-model.gguf"
    bad.write_bytes(b"nonsense")
    with pytest.raises(ServerError, match="exited with exit code 1 while starting"):
        LocalServer(bad, startup_timeout_s=60).start()
