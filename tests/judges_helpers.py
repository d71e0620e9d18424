"""A fault-injecting OpenAI-compatible chat server on loopback (stdlib http.server in a thread)."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FaultyChatServer:
    """Answers POST /v1/chat/completions following a script keyed by the user message (or a callable body -> step).

    ``script[text]`` is a list of behaviours consumed one per request for that prompt (the last one
    repeats): "500", "slow" (sleeps past the client's timeout), "garbage" (an answer with no rating),
    "badjson" (a 200 whose body is not JSON), or "ok:<text>" (a normal answer).
    """

    def __init__(self, script, slow_s: float = 2.0):
        self.script = script if callable(script) else {k: list(v) for k, v in script.items()}
        self.slow_s = slow_s
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with outer.lock:
                    outer.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
                    if callable(outer.script):
                        step = outer.script(body)
                    else:
                        steps = outer.script.get(body["messages"][-1]["content"], ["ok:[[5]]"])
                        step = steps.pop(0) if len(steps) > 1 else steps[0]
                if step == "500":
                    self._send(500, b'{"error": "injected"}')
                elif step == "slow":
                    time.sleep(outer.slow_s)
                    self._send(200, _answer("Rating: [[9]]"))
                elif step == "badjson":
                    self._send(200, b"<html>not json</html>")
                elif step == "garbage":
                    self._send(200, _answer("I think it is pretty good overall."))
                else:
                    self._send(200, _answer(step[len("ok:"):]))

            def _send(self, code: int, payload: bytes):
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout): expected for "slow"

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def _answer(text: str) -> bytes:
    return json.dumps({"id": "x", "object": "chat.completion", "choices": [
        {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}).encode()


class FakeCompletions:
    """A /v1/completions server on loopback standing in for llama.cpp: ``answer(body)`` gives, for a streamed request,
    the first token's top log-probabilities (a dict), and for a plain one the completion text (a str)."""

    def __init__(self, answer):
        self.bodies: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.bodies.append(body)
                got = answer(body)
                if body.get("stream"):
                    chunk = {"choices": [{"text": "x", "index": 0, "logprobs": {"tokens": ["x"], "top_logprobs": [got]}}]}
                    payload = (f"data: {json.dumps(chunk)}\n\ndata: {json.dumps({'choices': [{'text': '', 'logprobs': None}]})}"
                               "\n\ndata: [DONE]\n\n").encode()
                    kind = "text/event-stream"
                else:
                    payload = json.dumps({"choices": [{"text": got, "index": 0, "finish_reason": "stop"}]}).encode()
                    kind = "application/json"
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    @property
    def prompts(self) -> list[str]:
        return [b["prompt"] for b in self.bodies]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def fake_local_judge(tmp_path, server, judge_id: str):
    """A LocalJudge of ``judge_id``'s protocol whose server is ``server`` and whose chat template is plain text."""
    from bench.judges.local import LocalJudge

    tmp_path.mkdir(parents=True, exist_ok=True)
    fake_gguf = tmp_path / "fake.gguf"
    fake_gguf.write_bytes(b"not a model: the server here is a fake")
    judge = LocalJudge(judge_id, model_path=fake_gguf, cache_path=tmp_path / "cache.sqlite")
    judge.ensure_started = lambda: setattr(judge, "base_url", server.base_url) or server.base_url
    judge.chat_prompt = lambda messages: "".join(f"<{m['role']}>{m['content']}</{m['role']}>" for m in messages) + "<assistant>"
    return judge
