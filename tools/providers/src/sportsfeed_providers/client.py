"""The ingest HTTP API as the provider tools see it.

One client sends JSON with the provider's ``X-API-Key``, turns error bodies
into exceptions that repeat what the server said, and resends on 429, 502-504
and connection failures. Resending the very same bytes is safe: update ids are
derived from provider, game, market and ``ts``, so the platform keeps a resent
update once.
"""

from __future__ import annotations

import asyncio
import math
import random
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import aiohttp
import msgspec
from sportsfeed_common.settings import Secret

API_KEY_HEADER = "X-API-Key"
# 503 is ingest's "Kafka could not take the batch"; 502 and 504 come from proxies in front of it.
RETRYABLE_STATUSES = frozenset({502, 503, 504})
REQUEST_TIMEOUT_SECONDS = 30.0

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter; ``max_attempts=None`` resends until the caller stops it."""

    base_delay: float = 0.5
    max_delay: float = 30.0
    max_attempts: int | None = None

    def backoff(self, retry: int, rng: random.Random) -> float:
        """Delay before resend number ``retry`` (1-based).

        Half fixed, half random ("equal jitter"): providers that failed together
        spread out, yet none comes back immediately.
        """
        ceiling = min(self.max_delay, self.base_delay * 2 ** (retry - 1))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)

    def gives_up_after(self, attempts: int) -> bool:
        return self.max_attempts is not None and attempts >= self.max_attempts


# For one-shot tools: a few resends ride out a brief 429 or 503, then the failure is reported.
SHORT_RETRIES = RetryPolicy(base_delay=0.5, max_delay=5.0, max_attempts=5)


@dataclass(frozen=True)
class Reply:
    """A 2xx answer: status, parsed JSON body (``None`` if it was not JSON) and raw text."""

    status: int
    body: Any
    text: str


@dataclass(frozen=True)
class RetryNotice:
    """Told to ``on_retry`` before each resend."""

    retry: int
    delay: float
    reason: str

    def describe(self) -> str:
        return f"resend {self.retry} in {self.delay:.2f}s ({self.reason})"


def report_retry(notice: RetryNotice) -> None:
    print(notice.describe(), file=sys.stderr, flush=True)


class ApiError(Exception):
    """Ingest refused a request; the message repeats the server's code, message and field errors."""

    def __init__(self, status: int, text: str, body: Any) -> None:
        self.status = status
        self.text = text
        details = body if isinstance(body, dict) else {}
        self.code: str | None = details.get("error")
        self.server_message: str | None = details.get("message")
        self.errors: list[dict[str, Any]] = list(details.get("errors") or [])
        super().__init__(self.describe())

    def describe(self) -> str:
        headline = f"HTTP {self.status}"
        if self.code:
            headline += f" {self.code}"
        headline += f": {self.server_message or self.text.strip() or 'no message'}"
        lines = [headline] + [f"  {describe_field_error(error)}" for error in self.errors]
        return "\n".join(lines)


class Unauthorized(ApiError):
    """401: the API key is missing or unknown to ingest."""

    def describe(self) -> str:
        return f"{super().describe()}\nthe API key was refused: check --api-key or PROVIDER_API_KEY"


class Unprocessable(ApiError):
    """422: the body was understood but some items are invalid; ``errors`` says which."""


class GaveUp(Exception):
    """The retry policy's attempts ran out; the message gives the last reason."""


def describe_field_error(error: Any) -> str:
    if not isinstance(error, dict):
        return str(error)
    index = error.get("index")
    where = f"item {index}" if index is not None else "body"
    field = error.get("field")
    if field:
        where += f" {field}"
    return f"{where}: {error.get('reason', 'invalid')}"


def error_for(status: int, text: str) -> ApiError:
    body = _json_or_none(text)
    if status == 401:
        return Unauthorized(status, text, body)
    if status == 422:
        return Unprocessable(status, text, body)
    return ApiError(status, text, body)


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header; ``None`` when absent or not a usable number."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _json_or_none(text: str) -> Any:
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError:
        return None


class IngestClient:
    """Async client for ingest; use as ``async with IngestClient(...) as client``.

    ``sleep`` and ``rng`` are injectable so retry timing can be tested without
    waiting; ``on_retry`` lets a tool count and report resends.
    """

    def __init__(
        self,
        base_url: str,
        api_key: Secret | None,
        *,
        policy: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        on_retry: Callable[[RetryNotice], None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._policy = policy or RetryPolicy()
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._on_retry = on_retry
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> IngestClient:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def post_odds(self, updates: list[dict[str, Any]]) -> Reply:
        return await self.request("POST", "/v1/odds", {"updates": updates})

    async def put_games(self, games: list[dict[str, Any]]) -> Reply:
        return await self.request("PUT", "/v1/games", {"games": games})

    async def put_feeds(self, odds: list[dict[str, Any]]) -> Reply:
        return await self.request("PUT", "/feeds", {"odds": odds})

    async def request(self, method: str, path: str, body: Any) -> Reply:
        """Send ``body`` until it gets a final answer: a :class:`Reply` for 2xx, else an :class:`ApiError`.

        Raises :class:`GaveUp` when the policy's attempts run out; anything the
        injected ``sleep`` raises (a stop request, say) passes through.
        """
        data = msgspec.json.encode(body)  # encoded once: every resend is byte-identical
        attempts = 0
        while True:
            attempts += 1
            outcome = await self._attempt(method, path, data, attempts)
            if isinstance(outcome, Reply):
                return outcome
            if self._policy.gives_up_after(attempts):
                raise GaveUp(f"{method} {path}: gave up after {attempts} attempts; last: {outcome.reason}")
            if self._on_retry is not None:
                self._on_retry(outcome)
            await self._sleep(outcome.delay)

    async def _attempt(self, method: str, path: str, data: bytes, attempts: int) -> Reply | RetryNotice:
        """One send: a :class:`Reply`, a :class:`RetryNotice` saying to resend, or an :class:`ApiError`."""
        try:
            status, text, retry_after = await self._send_once(method, path, data)
        # A cut-off answer or a timeout may hide an accepted batch; resending it is harmless.
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, TimeoutError) as error:
            return self._resend(attempts, f"connection failed: {error!r}")
        if 200 <= status < 300:
            return Reply(status, _json_or_none(text), text)
        if status == 429:
            return self._resend(attempts, "429 rate limited", retry_after_seconds(retry_after))
        if status in RETRYABLE_STATUSES:
            return self._resend(attempts, error_for(status, text).describe())
        raise error_for(status, text)

    def _resend(self, attempts: int, reason: str, delay: float | None = None) -> RetryNotice:
        if delay is None:
            delay = self._policy.backoff(attempts, self._rng)
        return RetryNotice(attempts, delay, reason)

    async def _send_once(self, method: str, path: str, data: bytes) -> tuple[int, str, str | None]:
        if self._session is None:
            raise RuntimeError("IngestClient is used outside 'async with'")
        headers = {"Content-Type": "application/json"}
        if self._api_key is not None:
            headers[API_KEY_HEADER] = self._api_key.reveal()
        async with self._session.request(
            method, self.base_url + path, data=data, headers=headers
        ) as response:
            return response.status, await response.text(), response.headers.get("Retry-After")
