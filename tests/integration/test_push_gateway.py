"""The push gateway against real Kafka and Redis: filters, snapshots, resume, slow clients, refusals, registry.

Gateways run in this process (aiohttp's TestServer, through the real
``create_app``) unless a test needs real processes (kill -9, two replicas).
LiveUpdates are produced straight to ``odds.live``, as the stream processor
publishes them; every test uses its own game ids.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import msgspec
import pytest
from sportsfeed_common.events import (
    LiveUpdate,
    MovementAlert,
    MovementDetails,
    ProviderDownAlert,
    ProviderDownDetails,
    StaleAlert,
    StaleDetails,
    SuspendedAlert,
    SuspendedDetails,
    encode,
)
from sportsfeed_common.topics import ODDS_ALERTS, create_topics
from sportsfeed_devstack.config import StackConfig, free_port
from sportsfeed_devstack.stack import Stack
from sportsfeed_devstack.waiting import wait_until_async
from sportsfeed_push_gateway.service import GatewayService
from yarl import URL

from ..gateway_support import (
    ADMIN_TOKEN,
    JWT_SECRET,
    ORIGIN,
    T0,
    RunningGateway,
    StartGateway,
    connect,
    game,
    game_ids,
    gateway_environment,
    live,
    publish_games,
    publish_live,
    publish_until_received,
    spawn_gateway,
    subscribed,
)
from ..kafka_watch import produce
from ..services import stop_process
from ..ws_client import Analyst, StalledReader

pytestmark = pytest.mark.integration

# --- delivery ---------------------------------------------------------------------------------


async def test_a_reference_client_gets_every_update_with_the_reference_fields(
        servers, start_gateway: StartGateway, analysts: list[Analyst]) -> None:
    gateway = await start_gateway()
    analyst = await connect(analysts, gateway.url, "client=client-001")
    hello = analyst.of_type("hello")[0]
    assert hello["connectionId"] and hello["epoch"] == "1" and hello["serverTime"] > 0
    games = game_ids(3)
    await publish_live(servers, [live(g, seq) for seq in (1, 2) for g in games])
    await analyst.wait_for(lambda a: all(len(a.seqs(g)) == 2 for g in games), "every update")
    frame = next(f for f in analyst.of_type("odds") if f["gameId"] == games[0])
    assert {"gameId", "away", "home", "awayOdds", "homeOdds", "date"} <= frame.keys()
    assert frame["trace"]["pushedAt"] >= frame["trace"]["processedAt"]


async def test_frames_batch_writes_what_waits_as_one_message_and_a_reference_client_still_gets_one_each(
        servers, start_gateway: StartGateway, analysts: list[Analyst]) -> None:
    (game_id,) = game_ids(1)
    gateway = await start_gateway()
    batched = await connect(analysts, gateway.url, "client=batched&mode=subscribed&frames=batch")
    reference = await connect(analysts, gateway.url, "client=client-001")
    await batched.send({"op": "subscribe", "games": [game_id], "since": {game_id: 0}})
    await batched.wait_for(lambda a: a.of_type("snapshot"), "the snapshot")
    await publish_live(servers, [live(game_id, seq) for seq in range(1, 51)])
    for analyst in (batched, reference):
        await analyst.wait_for(lambda a: a.seqs(game_id)[-1:] == [50], "seq 50")
        assert analyst.seqs(game_id) == list(range(1, 51))
    assert reference.messages == len(reference.frames)  # the default: one JSON object per message
    assert batched.messages < len(batched.frames)  # the burst came in fewer messages than frames
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await Analyst.connect(gateway.url, "client=x&frames=jumbo")
    assert refused.value.status == 400


async def test_subscriptions_filter_by_game_and_by_sport_each_answered_with_a_snapshot(
        servers, start_gateway: StartGateway, analysts: list[Analyst]) -> None:
    soccer_game, tennis_game, other_game = game_ids(3)
    sport = f"sport{uuid.uuid4().hex[:6]}"
    await publish_games(servers, [game(soccer_game, sport), game(tennis_game, "tennis")])
    await publish_live(servers, [live(soccer_game, 1), live(tennis_game, 1), live(other_game, 1)])
    gateway = await start_gateway()
    by_game = await connect(analysts, gateway.url)
    by_sport = await connect(analysts, gateway.url)
    await by_game.send({"op": "subscribe", "games": [tennis_game]})
    await by_sport.send({"op": "subscribe", "sports": [sport]})
    snapshot = (await by_game.wait_for(lambda a: a.of_type("snapshot"), "the snapshot"))[0]
    assert (snapshot["gameId"], snapshot["seq"], snapshot["recovered"]) == (tennis_game, 1, False)
    assert snapshot["markets"][0]["seq"] == 1 and snapshot["game"]["sport"] == "tennis"
    sport_snapshot = (await by_sport.wait_for(lambda a: a.of_type("snapshot"), "the sport's snapshot"))[0]
    assert sport_snapshot["gameId"] == soccer_game

    await publish_live(servers, [live(g, 2) for g in (soccer_game, tennis_game, other_game)])
    await by_game.wait_for(lambda a: a.seqs(tennis_game) == [2], "the tennis game's update")
    await by_sport.wait_for(lambda a: a.seqs(soccer_game) == [2], "the soccer game's update")
    await publish_live(servers, [live(tennis_game, 3), live(soccer_game, 3)])  # a marker behind the others
    await by_game.wait_for(lambda a: a.seqs(tennis_game) == [2, 3], "the marker")
    await by_sport.wait_for(lambda a: a.seqs(soccer_game) == [2, 3], "the marker")
    assert {f["gameId"] for f in by_game.of_type("odds")} == {tennis_game}
    assert {f["gameId"] for f in by_sport.of_type("odds")} == {soccer_game}

    await by_game.send({"op": "unsubscribe", "games": [tennis_game]})
    await by_game.send({"op": "ping", "id": "after-unsubscribe"})
    await by_game.wait_for(lambda a: a.of_type("pong"), "the pong")
    await publish_live(servers, [live(tennis_game, 4), live(soccer_game, 4)])
    await by_sport.wait_for(lambda a: a.seqs(soccer_game) == [2, 3, 4], "the last update")
    assert by_game.seqs(tennis_game) == [2, 3]


async def a_gateway_and_a_subscriber_at(servers, start_gateway: StartGateway, analysts: list[Analyst], game_id: str,
                                        last: int) -> tuple[RunningGateway, Analyst]:
    """A new gateway, and an analyst subscribed to ``game_id`` that has received its seqs 1..last."""
    gateway = await start_gateway()
    analyst = await subscribed(analysts, gateway.url, game_id)
    await publish_until_received(servers, analyst, game_id, last)
    return gateway, analyst


async def test_resume_after_a_reconnect_replays_every_missed_update_once(
        servers, start_gateway: StartGateway, analysts: list[Analyst]) -> None:
    (game_id,) = game_ids(1)
    gateway, first = await a_gateway_and_a_subscriber_at(servers, start_gateway, analysts, game_id, 5)
    await first.close()
    await publish_live(servers, [live(game_id, seq) for seq in range(6, 11)])
    await wait_until_async(_book_at(gateway.service, game_id, 10), timeout=30, what="the gateway to read 6..10")

    again = await connect(analysts, gateway.url)
    await again.send({"op": "subscribe", "games": [game_id], "since": {game_id: 5}})
    await publish_live(servers, [live(game_id, seq) for seq in range(11, 14)])
    await again.wait_for(lambda a: a.seqs(game_id)[-1:] == [13], "seq 13")
    snapshot = again.of_type("snapshot")[0]
    assert (snapshot["seq"], snapshot["recovered"], snapshot["markets"]) == (5, True, [])
    assert again.seqs(game_id) == list(range(6, 14))
    assert [f["type"] for f in again.frames][:2] == ["hello", "snapshot"]


def _book_at(service: GatewayService, game_id: str, seq: int) -> Callable[[], Awaitable[bool]]:
    async def reached() -> bool:
        return service.book.entry(game_id).seq >= seq
    return reached


async def test_resume_across_a_gateway_restart_after_going_away(
        servers, start_gateway: StartGateway, analysts: list[Analyst]) -> None:
    (game_id,) = game_ids(1)
    first_gateway, analyst = await a_gateway_and_a_subscriber_at(servers, start_gateway, analysts, game_id, 3)
    await first_gateway.stop()
    assert await analyst.wait_closed() == 1001  # GOING_AWAY: reconnect and resume
    await publish_live(servers, [live(game_id, seq) for seq in range(4, 9)])  # while no gateway runs

    second_gateway = await start_gateway()  # warms its window from Kafka
    resumed = await connect(analysts, second_gateway.url)
    await resumed.send({"op": "subscribe", "games": [game_id], "since": {game_id: 3}})
    await publish_live(servers, [live(game_id, 9)])
    await resumed.wait_for(lambda a: a.seqs(game_id)[-1:] == [9], "seq 9")
    assert resumed.of_type("snapshot")[0]["recovered"] is True
    assert resumed.seqs(game_id) == [4, 5, 6, 7, 8, 9]


async def test_beyond_the_replay_window_a_fresh_snapshot_says_not_recovered(
        servers, start_gateway: StartGateway, analysts: list[Analyst]) -> None:
    (game_id,) = game_ids(1)
    gateway = await start_gateway(REPLAY_MAX_PER_GAME="3")
    await publish_live(servers, [live(game_id, seq, market=("spread", "total")[seq % 2]) for seq in range(1, 11)])
    await wait_until_async(_book_at(gateway.service, game_id, 10), timeout=30, what="the gateway to read 1..10")
    analyst = await connect(analysts, gateway.url)
    await analyst.send({"op": "subscribe", "games": [game_id], "since": {game_id: 2}})
    snapshot = (await analyst.wait_for(lambda a: a.of_type("snapshot"), "the snapshot"))[0]
    assert (snapshot["seq"], snapshot["recovered"]) == (10, False)
    assert sorted((m["market"], m["seq"]) for m in snapshot["markets"]) == [("spread", 10), ("total", 9)]
    await publish_live(servers, [live(game_id, 11)])
    await analyst.wait_for(lambda a: a.seqs(game_id) == [11], "seq 11 right after the snapshot")


async def test_alerts_and_status_frames_reach_the_games_subscribers(
        servers, start_gateway: StartGateway, analysts: list[Analyst]) -> None:
    (game_id,) = game_ids(1)
    gateway = await start_gateway()
    analyst = await subscribed(analysts, gateway.url, game_id)
    provider = f"p{uuid.uuid4().hex[:6]}"
    alerts = [
        StaleAlert(game_id=game_id, message="quiet", at=T0, details=StaleDetails(cleared=False)),
        SuspendedAlert(game_id=game_id, provider="acme", message="suspended", at=T0,
                       details=SuspendedDetails(market="spread", seq=1, status="suspended", previous_status="open")),
        ProviderDownAlert(provider=provider, severity="critical", message="down", at=T0,
                          details=ProviderDownDetails(quiet_seconds=60, last_seen_at=T0.isoformat())),
    ]
    await produce(servers.kafka_bootstrap, ODDS_ALERTS.name,
                  [((a.game_id or a.provider or "").encode(), encode(a)) for a in alerts])
    statuses = await analyst.wait_for(lambda a: len(a.of_type("status")) == 2 and len(a.of_type("alert")) == 3
                                      and a.of_type("status"), "three alerts and two status frames")
    # The game's alerts share a partition (in order); the provider's is keyed by provider (any order).
    kinds = [a["kind"] for a in analyst.of_type("alert")]
    assert sorted(kinds) == ["provider_down", "stale", "suspended"]
    assert [kind for kind in kinds if kind != "provider_down"] == ["stale", "suspended"]
    # A market's status comes with its prices from odds.live (next test), not from the alert.
    (game_status,) = [s for s in statuses if "gameId" in s]
    assert game_status | {"at": None} == {"type": "status", "gameId": game_id, "stale": True, "at": None}
    provider_status = next(s for s in statuses if "gameId" not in s)
    assert (provider_status["provider"], provider_status["down"]) == (provider, True)


async def test_market_and_game_status_changes_and_a_gap_are_pushed_in_order_with_the_prices(
        servers, start_gateway: StartGateway, analysts: list[Analyst]) -> None:
    (game_id,) = game_ids(1)
    gateway = await start_gateway()
    await publish_games(servers, [game(game_id, "tennis")])
    analyst = await subscribed(analysts, gateway.url, game_id)
    statuses = ["open", "suspended", "suspended", "open"]
    await publish_live(servers, [live(game_id, seq, status=status) for seq, status in enumerate(statuses, start=1)])
    await publish_games(servers, [msgspec.structs.replace(game(game_id, "tennis"), status="finished")])
    await publish_live(servers, [live(game_id, 7)])  # seqs 5 and 6 never reached the gateway
    await analyst.wait_for(lambda a: a.seqs(game_id)[-1:] == [7] and len(a.of_type("status")) == 4,
                           "seq 7 and four status frames")
    kinds = [(f["type"], f.get("seq"), f.get("marketStatus"), f.get("gameStatus"), f.get("resyncing"))
             for f in analyst.frames if f["type"] in ("odds", "status")]
    game_change = ("status", None, None, "finished", None)
    assert game_change in kinds  # the games topic is not ordered against odds.live
    assert [k for k in kinds if k != game_change] == [
        ("odds", 1, None, None, None),
        ("odds", 2, None, None, None), ("status", None, "suspended", None, None),
        ("odds", 3, None, None, None),
        ("odds", 4, None, None, None), ("status", None, "open", None, None),
        ("status", None, None, None, True), ("odds", 7, None, None, None)]


# --- slow clients -----------------------------------------------------------------------------


async def test_a_slow_clients_merged_prices_keep_each_games_order_and_end_on_every_markets_last_price(
        servers, start_gateway: StartGateway, analysts: list[Analyst]) -> None:
    """Ordered conflation (docs/push-gateway.md, "Slow clients"): a client that reads nothing through a
    burst, then reads on, gets each game's seqs in increasing order with every hole announced
    (``conflated``/``skipped``), every market's last price, and every price that changed a market's status."""
    games = game_ids(6)
    gateway = await start_gateway(QUEUE_SOFT_LIMIT="20", QUEUE_HARD_LIMIT="100000", SOCKET_SEND_BUFFER_BYTES="4096")
    fast = await connect(analysts, gateway.url)  # the default mode: every update
    url = URL(gateway.url)
    slow = await StalledReader.connect(url.host, url.port, "/ws?client=slow")  # every update, read later
    try:
        updates: list[LiveUpdate] = []
        seq = dict.fromkeys(games, 0)
        for round_ in range(40):
            for game_id in games:
                for market in ("spread", "total", "moneyline"):
                    seq[game_id] += 1
                    # The total is suspended for one round mid-burst: two status changes per game.
                    status = "suspended" if market == "total" and round_ == 20 else "open"
                    updates.append(live(game_id, seq[game_id], market, status=status))
        status_changes = {(u.game_id, u.seq) for u in updates if u.market == "total" and u.seq // 3 in (20, 21)}
        last_of_market = {(u.game_id, u.market): u.seq for u in updates}
        await publish_live(servers, updates)
        await fast.wait_for(lambda a: all(a.seqs(g)[-1:] == [seq[g]] for g in games), "every update", timeout=120)

        def has_every_last_seq(frames: list[dict]) -> bool:
            got = {(f["gameId"], f["seq"]) for f in frames if f.get("type") == "odds"}
            return all((g, seq[g]) in got for g in games)

        odds = [f for f in await slow.read_until(has_every_last_seq) if f.get("type") == "odds"]
    finally:
        slow.close()
    assert len(odds) < len(updates) and any("conflated" in f for f in odds), "nothing was conflated"
    last_seq: dict[str, int] = {}
    last_received: dict[tuple[str, str], int] = {}
    for frame in odds:
        before = last_seq.get(frame["gameId"], 0)
        assert frame["seq"] > before, f"{frame['gameId']}: seq {frame['seq']} after {before}"
        announced = frame.get("conflated", 1) - 1 + frame.get("skipped", 0)
        assert frame["seq"] - before - 1 <= announced, f"{frame['gameId']}: a hole before {frame['seq']} unannounced"
        last_seq[frame["gameId"]] = frame["seq"]
        last_received[(frame["gameId"], frame["market"])] = frame["seq"]
    assert last_received == last_of_market
    assert status_changes <= {(f["gameId"], f["seq"]) for f in odds}, "a status change was merged away"


async def test_a_slow_client_is_conflated_then_closed_while_a_fast_one_gets_everything(
        servers, start_gateway: StartGateway, analysts: list[Analyst]) -> None:
    games = game_ids(20)
    gateway = await start_gateway(QUEUE_SOFT_LIMIT="300", QUEUE_HARD_LIMIT="1000", SOCKET_SEND_BUFFER_BYTES="65536")

    def metric(name: str) -> float:
        return gateway.service.metrics.registry.get_sample_value(name) or 0.0

    fast = await connect(analysts, gateway.url)
    url = URL(gateway.url)
    slow = await StalledReader.connect(url.host, url.port, "/ws?client=slow")  # gets everything, reads nothing
    try:
        await fast.send({"op": "subscribe", "games": games})
        await fast.wait_for(lambda a: len(a.of_type("snapshot")) == len(games), "the snapshots")
        # Prices of 20 markets: past the soft limit the slow client's queue merges them.
        updates = [live(g, seq) for seq in range(1, 151) for g in games]  # 3,000
        await publish_live(servers, updates)
        await fast.wait_for(lambda a: len(a.of_type("odds")) >= len(updates), "every update", timeout=120)
        assert all(fast.seqs(g) == list(range(1, 151)) for g in games)
        await wait_until_async(_async(lambda: metric("sportsfeed_gateway_conflated_total") > 0), timeout=30,
                               what="the slow client's prices to be conflated")
        assert metric("sportsfeed_gateway_slow_closes_total") == 0  # merged, not yet closed

        # Alerts are never merged: they push the slow client's queue past the hard limit.
        alerts = [MovementAlert(game_id=games[n % len(games)], provider="acme", message=f"moved {n}", at=T0,
                                details=MovementDetails(market="spread", seq=n + 1, shift=0.05, home_odds=-110,
                                                        away_odds=-110)) for n in range(1200)]
        await produce(servers.kafka_bootstrap, ODDS_ALERTS.name, [(a.game_id.encode(), encode(a)) for a in alerts])
        await fast.wait_for(lambda a: len(a.of_type("alert")) == len(alerts), "every alert", timeout=120)
        await wait_until_async(_async(lambda: metric("sportsfeed_gateway_slow_closes_total") == 1),
                               timeout=60, what="the slow client to be closed")
        assert fast.close_code is None and "conflated" not in str(fast.of_type("odds"))
        async with asyncio.timeout(60):
            code, received = await slow.read_until_close()  # what got through before the close, then the close
        assert code == 4008 and len(received) < len(updates) + len(alerts)
    finally:
        slow.close()


def _async(check: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    async def run() -> bool:
        return check()
    return run


# --- bad input and refusals -------------------------------------------------------------------


async def test_garbage_frames_get_error_frames_and_the_socket_stays_open(
        start_gateway: StartGateway, analysts: list[Analyst]) -> None:
    gateway = await start_gateway(MAX_CLIENT_FRAME_BYTES="1024", CLIENT_FRAMES_PER_SECOND="20")
    analyst = await connect(analysts, gateway.url)
    garbage: list[tuple[Any, str]] = [
        ("not json at all", "bad_json"), ("[1, 2]", "bad_frame"), ({"op": "dance"}, "bad_frame"),
        ({"op": "subscribe", "games": ["not-a-game"]}, "bad_frame"), ({"op": "subscribe", "extra": 1}, "bad_frame"),
        ({"op": "subscribe", "since": {"game-1": -4}}, "bad_frame"), (b"\x00\x01binary", "bad_frame"),
        ("x" * 2048, "too_large"), ("\ud7ff\u0000\u202e", "bad_json"),
    ]
    for frame, _ in garbage:
        await analyst.send(frame)
    errors = await analyst.wait_for(lambda a: len(a.of_type("error")) == len(garbage) and a.of_type("error"),
                                    "an error frame per garbage frame")
    assert [e["code"] for e in errors] == [code for _, code in garbage]
    assert all(e["message"] for e in errors)
    for n in range(60):  # a flood: past the per-second allowance it is refused, not obeyed
        await analyst.send({"op": "ping", "id": n})
    await analyst.wait_for(lambda a: any(e["code"] == "rate_limited" for e in a.of_type("error")), "rate_limited")
    await analyst.wait_for(lambda a: a.of_type("pong"), "the pongs that were allowed")
    assert analyst.close_code is None and not analyst.socket.closed


async def test_a_bad_origin_and_a_bad_token_are_refused(start_gateway: StartGateway, analysts: list[Analyst]) -> None:
    open_gateway = await start_gateway()
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(f"{open_gateway.url}/ws", origin="http://evil.example")
        assert refused.value.status == 403
    await connect(analysts, open_gateway.url, origin=ORIGIN)  # the dashboard's own origin is fine

    secured = await start_gateway(AUTH_ENABLED="true", JWT_SECRET=JWT_SECRET)

    def token(subject: str, secret: str = JWT_SECRET, expires_in: int = 60) -> str:
        return jwt.encode({"sub": subject, "exp": int(time.time()) + expires_in}, secret, algorithm="HS256")

    async with aiohttp.ClientSession() as session:
        for query in ("client=desk-1", f"client=desk-1&token={token('desk-1', secret='wrong-secret-' * 3)}",
                      f"client=desk-1&token={token('desk-1', expires_in=-10)}", "client=desk-1&token=garbage"):
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(f"{secured.url}/ws?{query}")
            assert refused.value.status == 401, query
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(f"{secured.url}/ws?client=desk-2&token={token('desk-1')}")
        assert refused.value.status == 403
    await connect(analysts, secured.url, f"client=desk-1&token={token('desk-1')}")


async def test_a_client_over_its_connection_limit_is_closed_with_4009(
        start_gateway: StartGateway, analysts: list[Analyst]) -> None:
    gateway = await start_gateway(MAX_CONNECTIONS_PER_CLIENT="2")
    client = f"client=desk-{uuid.uuid4().hex[:6]}"
    await connect(analysts, gateway.url, client)
    second = await connect(analysts, gateway.url, client)
    await wait_until_async(_registered(gateway, second), timeout=10, what="the registry to count both")
    third = await Analyst.connect(gateway.url, client)
    analysts.append(third)
    assert await third.wait_closed() == 4009
    assert third.of_type("error")[0]["code"] == "too_many_connections"


def _registered(gateway: RunningGateway, analyst: Analyst) -> Callable[[], Awaitable[bool]]:
    connection_id = analyst.of_type("hello")[0]["connectionId"]

    async def listed() -> bool:
        return connection_id in {c["connectionId"] for c in await admin_connections(gateway.url)}
    return listed


# --- the registry and operators ---------------------------------------------------------------


async def admin_connections(url: str) -> list[dict[str, Any]]:
    async with aiohttp.ClientSession() as session, session.get(
            f"{url}/admin/connections", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as response:
        assert response.status == 200, await response.text()
        return (await response.json())["connections"]


async def test_operators_list_message_and_close_connections_on_any_replica(
        servers, start_gateway: StartGateway, analysts: list[Analyst]) -> None:
    east, west = await start_gateway(), await start_gateway()
    on_east = await connect(analysts, east.url, "client=desk-east")
    on_west = await connect(analysts, west.url, "client=desk-west")
    await on_west.send({"op": "subscribe", "sports": ["soccer"]})
    await wait_until_async(_registered(east, on_west), timeout=10, what="west's socket in the registry")
    listed = {c["connectionId"]: c for c in await admin_connections(east.url)}
    west_id = on_west.of_type("hello")[0]["connectionId"]
    assert listed[west_id]["clientId"] == "desk-west" and listed[west_id]["pod"] == west.service.settings.pod_name
    await wait_until_async(_subscriptions_listed(east.url, west_id), timeout=10, what="the subscription listed")

    async with aiohttp.ClientSession() as session:
        async with session.get(f"{east.url}/admin/connections") as response:
            assert response.status == 401
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        async with session.post(f"{east.url}/admin/connections/{west_id}/messages", headers=headers,
                                json={"type": "notice", "message": "desk closes at six"}) as response:
            assert response.status == 202
        await on_west.wait_for(lambda a: a.of_type("notice"), "the operator's message, sent through east")
        async with session.post(f"{east.url}/admin/connections/{west_id}/messages", headers=headers,
                                data=b"{nope") as response:
            assert response.status == 400
        async with session.delete(f"{east.url}/admin/connections/nobody", headers=headers) as response:
            assert response.status == 404
        async with session.delete(f"{west.url}/admin/connections/{west_id}", headers=headers) as response:
            assert response.status == 202
    assert await on_west.wait_closed() == 4010
    assert on_east.close_code is None


def _subscriptions_listed(url: str, connection_id: str) -> Callable[[], Awaitable[bool]]:
    async def listed() -> bool:
        entries = {c["connectionId"]: c for c in await admin_connections(url)}
        return entries.get(connection_id, {}).get("subscriptions", {}).get("sports") == ["soccer"]
    return listed


async def test_two_gateway_processes_serve_everything_and_a_killed_ones_entries_expire(
        servers, analysts: list[Analyst], tmp_path: Path) -> None:
    await create_topics(servers.kafka_bootstrap)
    first, first_url = spawn_gateway(gateway_environment(servers, REGISTRY_TTL_SECONDS="3"), tmp_path / "a.log")
    second, second_url = spawn_gateway(gateway_environment(servers, REGISTRY_TTL_SECONDS="3"), tmp_path / "b.log")
    try:
        on_first = [await connect(analysts, first_url) for _ in range(2)]
        on_second = [await connect(analysts, second_url) for _ in range(2)]
        games = game_ids(12)
        await publish_live(servers, [live(g, seq) for seq in range(1, 4) for g in games])
        for analyst in on_first + on_second:
            await analyst.wait_for(lambda a: all(a.seqs(g) == [1, 2, 3] for g in games), "every update")

        first_ids = {a.of_type("hello")[0]["connectionId"] for a in on_first}
        await wait_until_async(_async_listed(second_url, first_ids, present=True), timeout=10,
                               what="the first gateway's sockets in the registry")
        first.kill()  # SIGKILL: no goodbye, no deregistration
        first.wait()
        await wait_until_async(_async_listed(second_url, first_ids, present=False), timeout=10,
                               what="the killed gateway's entries to expire (TTL 3 s)")
        second_ids = {a.of_type("hello")[0]["connectionId"] for a in on_second}
        assert second_ids <= {c["connectionId"] for c in await admin_connections(second_url)}
    finally:
        first.kill()
        first.wait()
        stop_process(second)


def _async_listed(url: str, ids: set[str], present: bool) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        listed = {c["connectionId"] for c in await admin_connections(url)}
        return ids <= listed if present else not (ids & listed)
    return check


@pytest.fixture(scope="module")
def own_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A Redis of this module's own: the session's is shared, and this one gets stopped."""
    config = StackConfig(state_dir=Path(tmp_path_factory.mktemp("redis-outage")),
                         cache_dir=StackConfig.from_env().cache_dir, redis_port=free_port())
    stack = Stack(config, only=frozenset({"redis"}))
    stack.start()
    yield stack
    stack.stop()


async def test_a_redis_outage_stops_no_delivery_and_the_registry_catches_up_when_redis_returns(
        servers, own_redis: Stack, start_gateway: StartGateway, analysts: list[Analyst]) -> None:
    gateway = await start_gateway(REDIS_URL=own_redis.config.redis_url, REGISTRY_TTL_SECONDS="3")
    before = await connect(analysts, gateway.url, "client=desk-before")
    await wait_until_async(_registered(gateway, before), timeout=10, what="the socket in the registry")
    games = game_ids(4)
    await before.send({"op": "subscribe", "games": games})
    await before.wait_for(lambda a: len(a.of_type("snapshot")) == len(games), "the snapshots")

    await asyncio.to_thread(own_redis.servers[0].process.stop)  # Redis is gone; it keeps nothing
    async with aiohttp.ClientSession() as session, session.get(
            f"{gateway.url}/admin/connections", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as response:
        assert response.status == 503 and (await response.json())["error"] == "registry_unavailable"
    during = await connect(analysts, gateway.url, "client=desk-during")  # the per-client limit cannot be
    await during.send({"op": "subscribe", "games": games})              # counted: it lets the socket in
    await during.wait_for(lambda a: len(a.of_type("snapshot")) == len(games), "the snapshots without Redis")
    await publish_live(servers, [live(g, seq) for seq in range(1, 51) for g in games])
    for analyst in (before, during):
        await analyst.wait_for(lambda a: all(a.seqs(g) == list(range(1, 51)) for g in games),
                               "every update while Redis is down")
    assert (gateway.service.metrics.registry.get_sample_value("sportsfeed_gateway_registry_errors_total")
            or 0) > 0

    await asyncio.to_thread(own_redis.start)  # an empty Redis: every entry has to be written again
    await wait_until_async(_registered(gateway, before), timeout=30, what="the older socket back in the registry")
    await wait_until_async(_registered(gateway, during), timeout=30, what="the socket opened during the outage")
    await wait_until_async(_subscriptions_of(gateway.url, during, games), timeout=10, what="its subscriptions")
    during_id = during.of_type("hello")[0]["connectionId"]
    async with aiohttp.ClientSession() as session:  # commands over pub/sub work again too
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        async def closed() -> bool:
            async with session.delete(f"{gateway.url}/admin/connections/{during_id}", headers=headers) as response:
                return response.status == 202
        await wait_until_async(closed, timeout=10, what="the command listener to be back")
    assert await during.wait_closed() == 4010
    await publish_live(servers, [live(g, 51) for g in games])
    await before.wait_for(lambda a: all(a.seqs(g)[-1:] == [51] for g in games), "delivery after the outage")


def _subscriptions_of(url: str, analyst: Analyst, games: list[str]) -> Callable[[], Awaitable[bool]]:
    connection_id = analyst.of_type("hello")[0]["connectionId"]

    async def listed() -> bool:
        entries = {c["connectionId"]: c for c in await admin_connections(url)}
        return sorted(entries.get(connection_id, {}).get("subscriptions", {}).get("games", [])) == sorted(games)
    return listed


async def test_sockets_closed_by_their_clients_leave_the_gateway_and_the_registry(
        start_gateway: StartGateway) -> None:
    gateway = await start_gateway()
    closed_ids = set()
    for _ in range(20):  # some leave before the background registry write has finished
        analyst = await Analyst.connect(gateway.url, f"client=desk-{uuid.uuid4().hex[:6]}")
        hello = await analyst.wait_for(lambda a: a.of_type("hello"), "hello")
        closed_ids.add(hello[0]["connectionId"])
        await analyst.close()
    await wait_until_async(_async(lambda: len(gateway.service.hub) == 0), timeout=10,
                           what="the gateway to let go of every closed socket")
    # Well before the registry's TTL (30 s): deregistered, and not written back by a late write.
    await wait_until_async(_async_listed(gateway.url, closed_ids, present=False), timeout=10,
                           what="the closed sockets to leave the registry")


async def test_a_burst_of_connections_is_registered_whole(
        start_gateway: StartGateway, analysts: list[Analyst]) -> None:
    gateway = await start_gateway()
    crowd = await asyncio.gather(*(connect(analysts, gateway.url, f"client=burst-{n}") for n in range(150)))
    ids = {analyst.of_type("hello")[0]["connectionId"] for analyst in crowd}
    await wait_until_async(_async_listed(gateway.url, ids, present=True), timeout=20,
                           what="all 150 sockets in the registry")
    assert (gateway.service.metrics.registry.get_sample_value("sportsfeed_gateway_registry_errors_total")
            or 0) == 0
