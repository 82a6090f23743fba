"""The provider tools' HTTP client against a scripted ingest stand-in: resends, backoff, clear errors."""

from __future__ import annotations

import random
import socket
from typing import Any

import pytest
from sportsfeed_common.settings import Secret
from sportsfeed_providers.client import (
    ApiError,
    GaveUp,
    IngestClient,
    RetryNotice,
    RetryPolicy,
    Unauthorized,
    Unprocessable,
    retry_after_seconds,
)
from sportsfeed_providers.pacing import Stopped

from .provider_fakes import FakeIngest, FakeTime

KEY = Secret("sfk_test-key-never-printed")


def client_for(ingest: FakeIngest, time: FakeTime, **kwargs: Any) -> IngestClient:
    return IngestClient(ingest.url, KEY, sleep=time.sleep, rng=random.Random(1), **kwargs)


UPDATES = [{"gameId": "game-1", "market": "spread", "ts": "2026-11-23T10:15:30.123Z"}]


async def test_sends_json_with_the_key_and_returns_the_reply(ingest: FakeIngest) -> None:
    time = FakeTime()
    async with client_for(ingest, time) as client:
        reply = await client.post_odds(UPDATES)
    assert (reply.status, reply.body) == (202, {"accepted": 1})
    [seen] = ingest.requests
    assert (seen.method, seen.path) == ("POST", "/v1/odds")
    assert seen.headers["X-API-Key"] == KEY.reveal()
    assert seen.headers["Content-Type"] == "application/json"
    assert seen.json() == {"updates": UPDATES}
    assert time.sleeps == []


async def test_no_key_sends_no_key_header(ingest: FakeIngest) -> None:
    async with IngestClient(ingest.url, None) as client:
        await client.put_feeds([{"gameId": "game-1"}])
    [seen] = ingest.requests
    assert (seen.method, seen.path) == ("PUT", "/feeds")
    assert "X-API-Key" not in seen.headers


async def test_429_waits_retry_after_then_resends_the_same_body(ingest: FakeIngest) -> None:
    ingest.then(429, {"error": "rate_limited", "message": "slow down"}, {"Retry-After": "7"})
    time = FakeTime()
    notices: list[RetryNotice] = []
    async with client_for(ingest, time, on_retry=notices.append) as client:
        reply = await client.put_games([{"gameId": "game-1"}])
    assert reply.status == 202
    assert time.sleeps == [7.0]
    assert [notice.reason for notice in notices] == ["429 rate limited"]
    first, second = ingest.requests
    assert first.body == second.body
    assert (second.method, second.path) == ("PUT", "/v1/games")


async def test_429_without_a_usable_retry_after_backs_off(ingest: FakeIngest) -> None:
    ingest.then(429, {"error": "rate_limited"}, {"Retry-After": "soon"}).then(429, {"error": "rate_limited"})
    time = FakeTime()
    async with client_for(ingest, time, policy=RetryPolicy(base_delay=1.0)) as client:
        await client.post_odds(UPDATES)
    assert 0.5 <= time.sleeps[0] <= 1.0
    assert 1.0 <= time.sleeps[1] <= 2.0


async def test_503_backs_off_exponentially_and_resends_the_same_body(ingest: FakeIngest) -> None:
    for _ in range(3):
        ingest.then(503, {"error": "unavailable", "message": "Kafka could not take the batch"})
    time = FakeTime()
    notices: list[RetryNotice] = []
    async with client_for(ingest, time, policy=RetryPolicy(base_delay=0.5), on_retry=notices.append) as client:
        reply = await client.post_odds(UPDATES)
    assert reply.status == 202
    assert len(ingest.requests) == 4
    assert len({seen.body for seen in ingest.requests}) == 1
    for delay, ceiling in zip(time.sleeps, (0.5, 1.0, 2.0), strict=True):
        assert ceiling / 2 <= delay <= ceiling
    assert [notice.retry for notice in notices] == [1, 2, 3]
    assert "Kafka could not take the batch" in notices[0].reason


async def test_401_is_a_clear_error_and_is_not_resent(ingest: FakeIngest) -> None:
    ingest.then(401, {"error": "unauthorized", "message": "missing or unknown API key"})
    time = FakeTime()
    async with client_for(ingest, time) as client:
        with pytest.raises(Unauthorized) as raised:
            await client.post_odds(UPDATES)
    message = str(raised.value)
    assert "HTTP 401 unauthorized: missing or unknown API key" in message
    assert "--api-key or PROVIDER_API_KEY" in message
    assert KEY.reveal() not in message
    assert len(ingest.requests) == 1
    assert time.sleeps == []


async def test_422_lists_each_field_error(ingest: FakeIngest) -> None:
    errors = [
        {"index": 0, "field": "homeOdds", "reason": "American odds must be <= -100 or >= +100"},
        {"index": 3, "field": "ts", "reason": "must carry a time zone"},
    ]
    ingest.then(422, {"error": "invalid", "message": "2 updates refused", "errors": errors})
    async with client_for(ingest, FakeTime()) as client:
        with pytest.raises(Unprocessable) as raised:
            await client.post_odds(UPDATES)
    assert raised.value.errors == errors
    assert str(raised.value).splitlines() == [
        "HTTP 422 invalid: 2 updates refused",
        "  item 0 homeOdds: American odds must be <= -100 or >= +100",
        "  item 3 ts: must carry a time zone",
    ]


@pytest.mark.parametrize("status", [400, 404, 413, 500])
async def test_other_errors_are_final(ingest: FakeIngest, status: int) -> None:
    ingest.then(status, {"error": "nope", "message": "refused"})
    async with client_for(ingest, FakeTime()) as client:
        with pytest.raises(ApiError) as raised:
            await client.post_odds(UPDATES)
    assert (raised.value.status, raised.value.code, raised.value.server_message) == (status, "nope", "refused")
    assert len(ingest.requests) == 1


async def test_a_non_json_error_body_is_still_reported(ingest: FakeIngest) -> None:
    ingest.then(400, "plain words")
    async with client_for(ingest, FakeTime()) as client:
        with pytest.raises(ApiError, match="HTTP 400: plain words"):
            await client.post_odds(UPDATES)


async def test_gives_up_when_the_policy_says_so(ingest: FakeIngest) -> None:
    for _ in range(5):
        ingest.then(503, {"error": "unavailable"})
    time = FakeTime()
    async with client_for(ingest, time, policy=RetryPolicy(max_attempts=3)) as client:
        with pytest.raises(GaveUp, match="gave up after 3 attempts"):
            await client.post_odds(UPDATES)
    assert len(ingest.requests) == 3
    assert len(time.sleeps) == 2


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_connection_failures_are_resent_with_backoff() -> None:
    time = FakeTime()
    notices: list[RetryNotice] = []
    policy = RetryPolicy(base_delay=0.5, max_attempts=3)
    url = f"http://127.0.0.1:{closed_port()}"
    async with IngestClient(url, KEY, policy=policy, sleep=time.sleep, on_retry=notices.append) as client:
        with pytest.raises(GaveUp, match="connection failed"):
            await client.post_odds(UPDATES)
    assert len(time.sleeps) == 2
    assert all(notice.reason.startswith("connection failed") for notice in notices)


async def test_a_stop_raised_while_waiting_ends_the_request(ingest: FakeIngest) -> None:
    ingest.then(503, {"error": "unavailable"})

    async def stopping_sleep(seconds: float) -> None:
        raise Stopped

    async with IngestClient(ingest.url, KEY, sleep=stopping_sleep) as client:
        with pytest.raises(Stopped):
            await client.post_odds(UPDATES)
    assert len(ingest.requests) == 1


def test_backoff_grows_to_the_cap_with_jitter() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=30.0)
    rng = random.Random(3)
    for retry in range(1, 15):
        ceiling = min(30.0, 0.5 * 2 ** (retry - 1))
        delays = {policy.backoff(retry, rng) for _ in range(50)}
        assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
        assert len(delays) > 1  # jitter spreads providers that failed together


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("7", 7.0), ("0", 0.0), ("1.5", 1.5), (None, None), ("", None), ("-1", None), ("nan", None),
     ("Wed, 21 Oct 2026 07:28:00 GMT", None)],
)
def test_retry_after_parsing(header: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(header) == seconds


async def test_using_the_client_outside_its_context_is_an_error() -> None:
    client = IngestClient("http://127.0.0.1:1", KEY)
    with pytest.raises(RuntimeError, match="async with"):
        await client.post_odds(UPDATES)
