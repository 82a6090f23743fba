"""The deployed platform on a live cluster, end to end: the four services roll out, and a price a
provider posts to ingest reaches an analyst's WebSocket on the push-gateway.

Runs against the current kubeconfig context, namespace `sportsfeed` (as `skaffold dev` or
`helm install` left it); only with `-m cluster`:
    uv run pytest -m cluster tests/cluster
The provider key comes from the Secret that the chart's local values create for `helm test`
(charts/sportsfeed/values-local.yaml: devSecrets, tests.providerKey), or from
SPORTSFEED_PROVIDER_KEY where no such Secret exists (EKS). docs/kubernetes-local.md has more.
"""

from __future__ import annotations

import base64
import os
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from kubernetes import client, config
from sportsfeed_devstack.waiting import wait_until_async

from ..ws_client import Analyst
from .kube import service_backend, wait_for_rollouts
from .port_forward import PodPortForward

NAMESPACE = os.environ.get("SPORTSFEED_NAMESPACE", "sportsfeed")
SERVICES = ("ingest", "persistence", "stream-processor", "push-gateway")
# A first `skaffold dev` builds four images and starts Kafka before anything is ready.
ROLLOUT_SECONDS = float(os.environ.get("SPORTSFEED_ROLLOUT_SECONDS", "600"))
# From ingest through Kafka, persistence and the stream processor to the gateway; generous for
# consumer groups that are still settling right after a deploy.
DELIVERY_SECONDS = 120
INGEST_PORT, GATEWAY_PORT = 8081, 8080
LOCAL_VALUES = Path(__file__).resolve().parents[2] / "charts" / "sportsfeed" / "values-local.yaml"

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(ROLLOUT_SECONDS + 3 * DELIVERY_SECONDS)]


@pytest.fixture(scope="module")
def kube() -> client.ApiClient:
    config.load_kube_config()  # the current context; a missing kubeconfig is an error, not a skip
    return client.ApiClient()


@pytest.fixture(scope="module")
def rolled_out(kube) -> None:
    wait_for_rollouts(client.AppsV1Api(kube), NAMESPACE, SERVICES, ROLLOUT_SECONDS)


def forward_service(kube: client.ApiClient, service: str, port: int) -> Iterator[str]:
    pod, target = service_backend(client.CoreV1Api(kube), NAMESPACE, service, port)
    # Its own API client: port-forwarding must not share one with other callers.
    with PodPortForward(client.ApiClient(kube.configuration), NAMESPACE, pod, target) as forward:
        yield forward.url


@pytest.fixture(scope="module")
def ingest_url(kube, rolled_out) -> Iterator[str]:
    yield from forward_service(kube, "ingest", INGEST_PORT)


@pytest.fixture(scope="module")
def gateway_url(kube, rolled_out) -> Iterator[str]:
    yield from forward_service(kube, "push-gateway", GATEWAY_PORT)


@pytest.fixture(scope="module")
def provider_key(kube) -> str:
    if os.environ.get("SPORTSFEED_PROVIDER_KEY"):
        return os.environ["SPORTSFEED_PROVIDER_KEY"]
    where = yaml.safe_load(LOCAL_VALUES.read_text())["tests"]["providerKey"]
    secret = client.CoreV1Api(kube).read_namespaced_secret(where["secret"], NAMESPACE)
    return base64.b64decode(secret.data[where["key"]]).decode()


async def until_accepted(method: str, url: str, body: dict[str, Any], key: str) -> dict[str, Any]:
    """202 or fail; a 503 (Kafka not reachable yet right after a deploy) is retried."""
    async with aiohttp.ClientSession() as session:
        async def accepted() -> dict[str, Any] | None:
            async with session.request(method, url, json=body, headers={"X-API-Key": key}) as response:
                answer = await response.json(content_type=None)
                if response.status == 202:
                    return answer
                if response.status != 503:
                    raise AssertionError(f"{method} {url} answered {response.status}: {answer}")
                return None

        return await wait_until_async(accepted, timeout=DELIVERY_SECONDS, interval=1,
                                      what=f"{method} {url} to be accepted")


def new_game() -> str:
    return f"game-cluster-smoke-{uuid.uuid4().hex[:16]}"


def test_the_four_services_roll_out(rolled_out):
    """The rollouts finished within the deadline (the fixture waits for them)."""


@pytest.mark.parametrize("url_fixture", ["ingest_url", "gateway_url"])
async def test_forwarded_service_is_ready(request, url_fixture):
    async with aiohttp.ClientSession() as session, session.get(f"{request.getfixturevalue(url_fixture)}/readyz") as answer:
        assert answer.status == 200, await answer.text()


async def test_a_posted_price_reaches_a_subscribed_analyst(ingest_url, gateway_url, provider_key):
    game_id = new_game()
    analyst = await Analyst.connect(gateway_url, "client=cluster-smoke")
    try:
        await analyst.wait_for(lambda a: a.of_type("hello"), "the hello frame")
        await analyst.send({"op": "subscribe", "games": [game_id]})
        (snapshot,) = await analyst.wait_for(
            lambda a: [f for f in a.of_type("snapshot") if f["gameId"] == game_id], "the game's snapshot"
        )
        update = {
            "gameId": game_id, "market": "spread", "ts": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "home": -3.5, "away": 3.5, "homeOdds": -110, "awayOdds": -105,
        }
        accepted = await until_accepted("POST", f"{ingest_url}/v1/odds", {"updates": [update]}, provider_key)
        (frame,) = await analyst.wait_for(
            lambda a: [f for f in a.of_type("odds") if f["gameId"] == game_id], "the price", timeout=DELIVERY_SECONDS
        )
    finally:
        await analyst.close()
    assert frame["id"] == accepted["ids"][0]
    assert frame["seq"] == snapshot["seq"] + 1
    assert (frame["market"], frame["homeOdds"], frame["awayOdds"]) == ("spread", -110, -105)


async def test_a_reference_feed_reaches_an_analyst_who_sent_nothing(ingest_url, gateway_url, provider_key):
    """The reference's PUT /feeds, and its client that subscribes to nothing and gets every update."""
    game_id = new_game()
    analyst = await Analyst.connect(gateway_url, "client=cluster-smoke-reference")
    try:
        await analyst.wait_for(lambda a: a.of_type("hello"), "the hello frame")
        feed = {"odds": [{"gameId": game_id, "date": int(time.time()), "away": 2.5, "home": -2.5,
                          "awayOdds": 120, "homeOdds": -140}]}
        await until_accepted("PUT", f"{ingest_url}/feeds", feed, provider_key)
        (frame,) = await analyst.wait_for(
            lambda a: [f for f in a.of_type("odds") if f["gameId"] == game_id], "the feed", timeout=DELIVERY_SECONDS
        )
    finally:
        await analyst.close()
    assert {key: frame[key] for key in ("away", "home", "awayOdds", "homeOdds")} == {
        "away": 2.5, "home": -2.5, "awayOdds": 120, "homeOdds": -140,
    }
    assert isinstance(frame["date"], int)
