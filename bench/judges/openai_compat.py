"""A judge behind any OpenAI-compatible chat endpoint (OpenAI, vLLM, llama.cpp's server, ...).

Retries with exponential backoff on connection errors, timeouts, 429 and 5xx; bounded concurrency
(a thread pool); a persistent judgment cache keyed by (judge id + settings, request) so a rerun sends
no requests. The API key is read from an environment variable whose *name* is configured; the key
itself is never stored in settings, caches or results, and a warning goes out (once per URL, to stderr and
the log) before it is sent over plain http:// to a host that is not loopback.

A hung endpoint costs little: by default a request waits ``timeout_s`` = 30 s for an answer (5 s to connect)
and is retried twice (after 1 s, then 2 s, with jitter), and once ``max_consecutive_failures`` (5) judgments
in a row have failed every attempt, the remaining ones fail at once without a request ("request: skipped:
..."); failures are never cached, so a rerun retries them. A rating outside the scale (``scale``, MT-Bench's
1..10 by default, or ``RatingRequest.scale``) counts as a parse failure, never as a rating.
"""
from __future__ import annotations

import ipaddress
import logging
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Sequence

import httpx

from bench.errors import show_warnings_on_terminal

from .base import Judge, JudgeUnavailable, Rating, RatingRequest
from .cache import JudgmentCache, request_key
from .parsing import RATING_GRAMMAR, parse_single_rating

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
DEFAULT_SCALE = (1.0, 10.0)  # FastChat's single-answer prompts ask for a rating from 1 to 10
log = logging.getLogger(__name__)
_warned_plain_http: set[str] = set()


class _Retry(Exception):
    """A failed attempt worth repeating (timeouts, refused connections, 429/5xx, malformed answers)."""


class _Fatal(Exception):
    """A failed attempt that would fail again (4xx other than the retryable ones)."""


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def warn_plain_http_key(base_url: str, api_key_env: str) -> bool:
    """Warn once per URL (stderr and the log) before a key goes over plain http:// to a non-loopback host."""
    url = httpx.URL(base_url)
    if url.scheme != "http" or is_loopback(url.host) or base_url in _warned_plain_http:
        return False
    _warned_plain_http.add(base_url)

    show_warnings_on_terminal()  # once on the terminal ("warning: ..."), and in the run log when there is one
    log.warning("sending the API key from $%s over plain http:// to %s, which is not loopback: anyone on the path "
                "can read it; use https:// (%s)", api_key_env, url.host, base_url)
    return True


def chat_text(data: dict) -> str:
    text = data["choices"][0]["message"]["content"]
    if text is None:
        raise _Retry("empty message content")
    return text


class OpenAICompatJudge(Judge):
    kind = "openai-compatible"

    def __init__(self, model: str, base_url: str, *, judge_id: str | None = None, api_key_env: str | None = "OPENAI_API_KEY",
                 temperature: float = 0.0, max_tokens: int = 2048, timeout_s: float = 30.0, max_retries: int = 2,
                 backoff_s: float = 1.0, max_backoff_s: float = 8.0, max_consecutive_failures: int = 5,
                 concurrency: int = 4, grammar: str | None = None, response_format: dict | None = None,
                 cache_path: Path | str | None = None, parse: Callable[[str], float | None] = parse_single_rating,
                 key_in_cache: dict | None = None, scale: tuple[float, float] | None = DEFAULT_SCALE):
        super().__init__()
        if timeout_s <= 0 or max_retries < 0 or max_consecutive_failures < 1 or max_tokens < 1:
            raise ValueError(f"judge timeout must be > 0 s, retries >= 0 and max tokens >= 1 (got timeout_s={timeout_s}, "
                             f"max_retries={max_retries}, max_tokens={max_tokens})")
        self.id = judge_id or f"openai:{model}@{base_url}"
        self.model, self.base_url = model, base_url.rstrip("/")
        self.api_key_env = api_key_env
        self.timeout_s, self.max_retries = float(timeout_s), int(max_retries)
        self.backoff_s, self.max_backoff_s, self.concurrency = backoff_s, max_backoff_s, max(1, concurrency)
        self.max_consecutive_failures = int(max_consecutive_failures)
        self._failure_lock = threading.Lock()
        self._consecutive_failures, self._last_failure = 0, None
        self.parse = parse
        self.scale = tuple(scale) if scale else None
        # Settings are what changes a verdict; they key the cache and go into every result row.
        self.settings = {"model": model, "base_url": self.base_url, "temperature": temperature, "max_tokens": max_tokens}
        if grammar:
            self.settings["grammar"] = grammar
        if response_format:
            self.settings["response_format"] = response_format
        self.settings.update({"rating_scale": list(self.scale) if self.scale else None, "timeout_s": self.timeout_s,
                              "max_retries": self.max_retries, "max_consecutive_failures": self.max_consecutive_failures,
                              "concurrency": self.concurrency, "api_key_env": api_key_env})
        # What identifies a verdict for the cache: by default everything except transport details.
        self._cache_key = key_in_cache or {"id": self.id, **{k: v for k, v in self.settings.items()
                                                               if k in ("model", "base_url", "temperature", "max_tokens", "grammar", "response_format")}}
        self.cache = JudgmentCache(cache_path) if cache_path else None
        self._client: httpx.Client | None = None

    # -- transport ----------------------------------------------------------------------------------
    def _headers(self) -> dict:
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.api_key_env) if self.api_key_env else None
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def _http(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(timeout=httpx.Timeout(self.timeout_s, connect=min(5.0, self.timeout_s)),
                                        limits=httpx.Limits(max_connections=self.concurrency + 2))
        return self._client

    def payload(self, messages: list[dict], **overrides: Any) -> dict:
        body = {"model": self.model, "messages": messages, "temperature": self.settings["temperature"],
                "max_tokens": self.settings["max_tokens"]}
        if "grammar" in self.settings:
            body["grammar"] = self.settings["grammar"]
        if "response_format" in self.settings:
            body["response_format"] = self.settings["response_format"]
        body.update(overrides)
        return body

    def _attempt(self, endpoint: str, body: dict, read: Callable[[dict], str]) -> str:
        """One request; raises _Retry or _Fatal. ``read`` turns the answer's JSON into the text to keep."""
        try:
            response = self._http().post(f"{self.base_url}{endpoint}", json=body, headers=self._headers())
        except httpx.HTTPError as err:  # timeouts, refused connections, broken reads
            raise _Retry(f"{type(err).__name__}: {err}") from None
        if response.status_code in RETRY_STATUS:
            raise _Retry(f"HTTP {response.status_code}: {response.text[:200]}")
        if response.status_code >= 400:
            raise _Fatal(f"HTTP {response.status_code}: {response.text[:200]}")  # a bad request stays bad
        try:
            return read(response.json())
        except (ValueError, KeyError, IndexError, TypeError) as err:
            raise _Retry(f"malformed response ({type(err).__name__}): {response.text[:200]}") from None

    def backoff_delay(self, attempt: int) -> float:
        """Seconds before retry number ``attempt`` (1-based): backoff_s, 2x, 4x ... capped, with jitter."""
        return min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)

    def _post(self, body: dict, endpoint: str = "/chat/completions", read: Callable[[dict], str] = chat_text,
              attempt_fn=None) -> tuple[str | None, str | None]:
        """(text, None) or (None, error) after at most 1 + max_retries attempts."""
        error = None
        for attempt in range(self.max_retries + 1):
            if attempt:
                self.stats.add(retries=1)
                time.sleep(self.backoff_delay(attempt))  # jitter: concurrent retries do not stampede
            self.stats.add(requests_sent=1)
            try:
                return (attempt_fn or self._attempt)(endpoint, body, read), None
            except _Retry as err:
                error = str(err)
            except _Fatal as err:
                return None, str(err)
        return None, error

    def _breaker_open(self) -> str | None:
        with self._failure_lock:
            if self._consecutive_failures >= self.max_consecutive_failures:
                return (f"skipped: the endpoint failed {self._consecutive_failures} judgments in a row "
                        f"(last error: {self._last_failure})")
        return None

    def _record_outcome(self, error: str | None) -> None:
        with self._failure_lock:
            if error is None:
                self._consecutive_failures = 0
            else:
                self._consecutive_failures += 1
                self._last_failure = error

    # -- public -------------------------------------------------------------------------------------
    def cached_call(self, payload: dict, send: Callable[[], tuple[str | None, str | None]]) -> tuple[str | None, str | None]:
        """The cached answer for ``payload`` or ``send()``'s; counts hits and failures; never raises."""
        key = request_key(self._cache_key, payload)
        cached = self.cache.get(key) if self.cache is not None else None
        if cached is not None:
            self.stats.add(cache_hits=1)
            return cached, None
        skipped = self._breaker_open()
        if skipped:
            result = (None, skipped)
        else:
            if self.api_key_env and os.environ.get(self.api_key_env):
                warn_plain_http_key(self.base_url, self.api_key_env)
            try:
                result = send()
            except JudgeUnavailable:
                raise  # a dead judge server fails every later request too: stop with its own message
            except Exception as err:  # noqa: BLE001 - a judge failure is counted, never fatal
                result = (None, f"{type(err).__name__}: {err}")
            self._record_outcome(result[1] if result[0] is None else None)
        if result[0] is not None and self.cache is not None:
            self.cache.put(key, self.id, result[0])
        if result[0] is None:
            self.stats.add(request_failures=1)
        return result

    def complete(self, bodies: Sequence[dict], progress=None) -> list[tuple[str | None, str | None]]:
        """Chat completions for request bodies (see ``payload``), cached, concurrently; never raises."""
        def one(body: dict) -> tuple[str | None, str | None]:
            result = self.cached_call({k: v for k, v in body.items() if k != "model"}, lambda: self._post(body))
            if progress:
                progress(1)
            return result

        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return list(pool.map(one, bodies))

    def in_scale(self, rating: float, scale: tuple[float, float] | None) -> bool:
        low_high = scale or self.scale
        return low_high is None or low_high[0] <= rating <= low_high[1]

    def rate(self, requests: Sequence[RatingRequest], progress=None) -> list[Rating]:
        answers = self.complete([self.payload(r.messages) for r in requests], progress)
        out = []
        for request, (text, error) in zip(requests, answers):
            if text is None:
                out.append(Rating(None, None, f"request: {error}"))
                continue
            rating = self.parse(text)
            if rating is None:
                self.stats.add(parse_failures=1)
                out.append(Rating(None, text, "parse: no rating in the judge's answer"))
            elif not self.in_scale(rating, request.scale):
                self.stats.add(parse_failures=1)
                low, high = request.scale or self.scale
                out.append(Rating(None, text, f"parse: rating {rating:g} is outside the scale {low:g}..{high:g}"))
            else:
                out.append(Rating(rating, text))
        return out

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self.cache is not None:
            self.cache.close()
            self.cache = None


def constrained_rating_judge(model: str, base_url: str, **kwargs) -> OpenAICompatJudge:
    """A judge whose output is forced (GBNF grammar, llama.cpp servers) to end in ``[[N]]``, N in 1..10."""
    kwargs.setdefault("grammar", RATING_GRAMMAR)
    kwargs.setdefault("max_tokens", 128)
    return OpenAICompatJudge(model, base_url, **kwargs)
