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
