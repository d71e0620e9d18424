"""A judge behind any OpenAI-compatible chat endpoint (OpenAI, vLLM, llama.cpp's server, ...).

Retries with exponential backoff on connection errors, timeouts, 429 and 5xx; bounded concurrency
(a thread pool); a persistent judgment cache keyed by (judge id + settings, request) so a rerun sends
no requests. The API key is read from an environment variable whose *name* is configured; the key
itself is never stored in settings, caches or results.
"""
from __future__ import annotations

import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Sequence

import httpx

from .base import Judge, Rating, RatingRequest
from .cache import JudgmentCache, request_key
from .parsing import RATING_GRAMMAR, parse_single_rating

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


class OpenAICompatJudge(Judge):
    kind = "openai-compatible"

    def __init__(self, model: str, base_url: str, *, judge_id: str | None = None, api_key_env: str | None = "OPENAI_API_KEY",
                 temperature: float = 0.0, max_tokens: int = 2048, timeout_s: float = 120.0, max_retries: int = 4,
                 backoff_s: float = 1.0, max_backoff_s: float = 30.0, concurrency: int = 4, grammar: str | None = None,
                 response_format: dict | None = None, cache_path: Path | str | None = None,
                 parse: Callable[[str], float | None] = parse_single_rating, key_in_cache: dict | None = None):
        super().__init__()
        self.id = judge_id or f"openai:{model}@{base_url}"
        self.model, self.base_url = model, base_url.rstrip("/")
        self.api_key_env = api_key_env
        self.timeout_s, self.max_retries = timeout_s, max_retries
        self.backoff_s, self.max_backoff_s, self.concurrency = backoff_s, max_backoff_s, max(1, concurrency)
        self.parse = parse
        # Settings are what changes a verdict; they key the cache and go into every result row.
        self.settings = {"model": model, "base_url": self.base_url, "temperature": temperature, "max_tokens": max_tokens}
        if grammar:
            self.settings["grammar"] = grammar
        if response_format:
            self.settings["response_format"] = response_format
        self.settings.update({"timeout_s": timeout_s, "max_retries": max_retries, "concurrency": self.concurrency,
                              "api_key_env": api_key_env})
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
            self._client = httpx.Client(timeout=httpx.Timeout(self.timeout_s),
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

    def _post(self, body: dict) -> tuple[str | None, str | None]:
        """(text, None) or (None, error) after at most 1 + max_retries attempts."""
        error = None
        for attempt in range(self.max_retries + 1):
            if attempt:
                self.stats.add(retries=1)
                delay = min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1))
                time.sleep(delay * (0.5 + random.random() / 2))  # jitter: concurrent retries do not stampede
            self.stats.add(requests_sent=1)
            try:
                response = self._http().post(f"{self.base_url}/chat/completions", json=body, headers=self._headers())
            except httpx.HTTPError as err:  # timeouts, refused connections, broken reads
                error = f"{type(err).__name__}: {err}"
                continue
            if response.status_code in RETRY_STATUS:
                error = f"HTTP {response.status_code}: {response.text[:200]}"
                continue
            if response.status_code >= 400:
                return None, f"HTTP {response.status_code}: {response.text[:200]}"  # a bad request stays bad
            try:
                text = response.json()["choices"][0]["message"]["content"]
            except (ValueError, KeyError, IndexError, TypeError) as err:
                error = f"malformed response ({type(err).__name__}): {response.text[:200]}"
                continue
            if text is None:
                error = "empty message content"
                continue
            return text, None
        return None, error

    # -- public -------------------------------------------------------------------------------------
    def complete(self, bodies: Sequence[dict], progress=None) -> list[tuple[str | None, str | None]]:
        """Chat completions for request bodies (see ``payload``), cached, concurrently; never raises."""
        def one(body: dict) -> tuple[str | None, str | None]:
            key = request_key(self._cache_key, {k: v for k, v in body.items() if k != "model"})
            cached = self.cache.get(key) if self.cache is not None else None
            if cached is not None:
                self.stats.add(cache_hits=1)
                result = (cached, None)
            else:
                try:
                    result = self._post(body)
                except Exception as err:  # noqa: BLE001 - a judge failure is counted, never fatal
                    result = (None, f"{type(err).__name__}: {err}")
                if result[0] is not None and self.cache is not None:
                    self.cache.put(key, self.id, result[0])
                if result[0] is None:
                    self.stats.add(request_failures=1)
            if progress:
                progress(1)
            return result

        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return list(pool.map(one, bodies))

    def rate(self, requests: Sequence[RatingRequest], progress=None) -> list[Rating]:
        answers = self.complete([self.payload(r.messages) for r in requests], progress)
        out = []
        for text, error in answers:
            if text is None:
                out.append(Rating(None, None, f"request: {error}"))
                continue
            rating = self.parse(text)
            if rating is None:
                self.stats.add(parse_failures=1)
                out.append(Rating(None, text, "parse: no rating in the judge's answer"))
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
