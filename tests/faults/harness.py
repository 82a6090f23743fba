"""Steady load through a whole local stack, and the accounting of every update it was answered 202 for.

Providers post their games in order, one request at a time each, and retry a request until it is
answered 202, as a real provider does: a retried batch gets the same update ids, so a request
whose answer was lost and then repeated must still end up stored once and delivered once.
Analysts watch every game of the scenario and, whenever their socket drops, reconnect and resume
with the last seq they saw of each game. At the end, every accepted update must be in DynamoDB
once and have reached every analyst once, in seq order.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aioboto3
import aiohttp
from sportsfeed_common.aws import dynamodb_client_kwargs
from sportsfeed_common.settings import CommonSettings, load_settings
from sportsfeed_common.table import ODDS_PREFIX
from sportsfeed_devstack.config import StackConfig

log = logging.getLogger(__name__)

RETRY_SECONDS = 0.2  # a provider's pause before repeating a request that was not answered 202
RECONNECT_SECONDS = 0.2  # an analyst's pause before reconnecting
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=10)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Providers:
    """``lanes`` providers, each owning ``games_per_lane`` games, posting one update per game per step."""

    def __init__(self, ingest_url: str, key: str, scenario: str, lanes: int, games_per_lane: int) -> None:
        self._url = f"{ingest_url}/v1/odds"
        self._headers = {"X-API-Key": key, "Content-Type": "application/json"}
        self.games = [f"game-fault-{scenario}-{n}" for n in range(lanes * games_per_lane)]
        self._lanes = [self.games[lane::lanes] for lane in range(lanes)]
        self._start = datetime.now(UTC) - timedelta(hours=1)
        self.accepted: dict[str, list[str]] = defaultdict(list)  # game -> ids answered 202, in order
        self.sent_updates = 0
        self.refusals: Counter[str] = Counter()  # why a request had to be repeated
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self, steps_per_second: float) -> None:
        async with aiohttp.ClientSession(timeout=REQUEST_TIMEOUT) as session:
            await asyncio.gather(*(self._lane(session, games, steps_per_second) for games in self._lanes))

    async def _lane(self, session: aiohttp.ClientSession, games: list[str], steps_per_second: float) -> None:
        loop = asyncio.get_running_loop()
        step = 0
        started = loop.time()
        while not self._stopping.is_set():
            body = self._body(games, step)
            self.sent_updates += len(games)
            ids = await self._post_until_accepted(session, body)
            for game, update_id in zip(games, ids, strict=True):
                self.accepted[game].append(update_id)
            step += 1
            delay = started + step / steps_per_second - loop.time()
            if delay > 0:
                # Pacing the offered load (or stopping early), not waiting for a result.
                try:
                    await asyncio.wait_for(self._stopping.wait(), timeout=delay)
                except TimeoutError:
                    pass

    def _body(self, games: list[str], step: int) -> bytes:
        moment = _iso(self._start + timedelta(milliseconds=step))
        return json.dumps({"updates": [
            {"gameId": game, "market": "spread", "ts": moment, "home": -3.5, "away": 3.5,
             "homeOdds": -110 - step % 40, "awayOdds": 100 + step % 40}
            for game in games
        ]}).encode()

    async def _post_until_accepted(self, session: aiohttp.ClientSession, body: bytes) -> list[str]:
        while True:
            try:
                async with session.post(self._url, data=body, headers=self._headers) as response:
                    answer = await response.read()
                    if response.status == 202:
                        return json.loads(answer)["ids"]
                    if response.status not in (429, 503):
                        raise AssertionError(f"ingest answered {response.status} to a valid batch: {answer[:300]!r}")
                    self.refusals[str(response.status)] += 1
            except (aiohttp.ClientError, TimeoutError) as error:
                self.refusals[type(error).__name__] += 1
            await asyncio.sleep(RETRY_SECONDS)  # a provider's retry pause

    @property
    def accepted_count(self) -> int:
        return sum(len(ids) for ids in self.accepted.values())


@dataclass
class AnalystRecord:
    frames: dict[str, list[tuple[int, str]]] = field(default_factory=lambda: defaultdict(list))  # game -> (seq, id)
    reconnects: int = 0
    not_recovered: int = 0  # snapshots saying the replay window could not cover the gap

    def last_seqs(self, games: list[str]) -> dict[str, int]:
        """The last seq seen of each game; 0 for a game seen nothing of yet (every update is missed)."""
        return {game: self.frames[game][-1][0] if self.frames.get(game) else 0 for game in games}


class ResumingAnalyst:
    """Watches ``games``; when the socket drops, reconnects and resumes from the last seq of each game."""

    def __init__(self, gateway_url: str, client_id: str, games: list[str]) -> None:
        self._url = f"{gateway_url}/ws?client={client_id}&mode=subscribed"  # nothing before the subscribe
        self._games = games
        self.record = AnalystRecord()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.subscribed = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        async with aiohttp.ClientSession() as session:
            while not self._stopping.is_set():
                try:
                    async with session.ws_connect(self._url, heartbeat=5) as socket:
                        await self._subscribe(socket)
                        async for message in socket:
                            if message.type == aiohttp.WSMsgType.TEXT:
                                self._on_frame(json.loads(message.data))
                except (aiohttp.ClientError, TimeoutError, ConnectionError) as error:
                    log.info("analyst connection failed: %r", error)
                if not self._stopping.is_set():
                    self.record.reconnects += 1
                    await asyncio.sleep(RECONNECT_SECONDS)  # a client's reconnect pause

    async def _subscribe(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        # The scenario's games are new, so even the first subscription resumes: from seq 0.
        request = {"op": "subscribe", "games": self._games, "since": self.record.last_seqs(self._games)}
        await socket.send_str(json.dumps(request))
        self.subscribed.set()

    def _on_frame(self, frame: dict[str, Any]) -> None:
        if frame.get("type") == "odds":
            self.record.frames[frame["gameId"]].append((frame["seq"], frame["id"]))
        elif frame.get("type") == "snapshot" and frame.get("recovered") is False and frame.get("seq", 0) > 0:
            self.record.not_recovered += 1

    def has_all(self, accepted: dict[str, list[str]]) -> bool:
        return all(len({i for _, i in self.record.frames.get(game, [])}) >= len(ids) for game, ids in accepted.items())


async def stored_odds(config: StackConfig, games: list[str]) -> dict[str, list[tuple[str, int | None]]]:
    """The ``ID`` and ``SEQ`` (the seq it was pushed with; None if absent) of every odds item of each game."""
    settings = load_settings(CommonSettings, config.service_environment())
    found: dict[str, list[tuple[str, int | None]]] = {}
    async with aioboto3.Session().client("dynamodb", **dynamodb_client_kwargs(settings)) as client:
        paginator = client.get_paginator("query")
        for game in games:
            items: list[tuple[str, int | None]] = []
            async for page in paginator.paginate(
                    TableName=settings.dynamodb_table, ProjectionExpression="ID, SEQ",
                    KeyConditionExpression="PK = :game AND begins_with(SK, :odds)",
                    ExpressionAttributeValues={":game": {"S": game}, ":odds": {"S": ODDS_PREFIX}}):
                items.extend((item["ID"]["S"], int(item["SEQ"]["N"]) if "SEQ" in item else None)
                             for item in page["Items"])
            found[game] = items
    return found


@dataclass(frozen=True)
class FaultReport:
    """One scenario's line of the report."""

    scenario: str
    sent: int
    accepted: int
    stored: int
    delivered: int
    lost: int
    duplicates: int
    out_of_order: int
    wrong_seq_stored: int  # items whose SEQ is not the seq the analysts were pushed (or that lack one)
    retried_requests: int
    reconnects: int

    @classmethod
    def of(cls, scenario: str, providers: Providers, stored: dict[str, list[tuple[str, int | None]]],
           analysts: list[ResumingAnalyst]) -> FaultReport:
        accepted = providers.accepted
        accepted_ids = {i for ids in accepted.values() for i in ids}
        stored_all = [item for items in stored.values() for item in items]
        stored_ids = [i for i, _ in stored_all]
        in_table = accepted_ids & set(stored_ids)
        duplicates = len(stored_ids) - len(set(stored_ids))
        out_of_order = 0
        delivered_everywhere = set(accepted_ids)
        pushed_seq: dict[str, int] = {}
        for analyst in analysts:
            seen: set[str] = set()
            for game in accepted:
                frames = analyst.record.frames.get(game, [])
                pushed_seq.update((update_id, seq) for seq, update_id in frames)
                ids = [update_id for _, update_id in frames]
                duplicates += len(ids) - len(set(ids))
                seqs = [seq for seq, _ in frames]
                out_of_order += sum(1 for earlier, later in zip(seqs, seqs[1:], strict=False) if later != earlier + 1)
                out_of_order += 1 if seqs and seqs[0] != 1 else 0
                seen.update(ids)
            delivered_everywhere &= seen
        lost = len(accepted_ids - (in_table & delivered_everywhere))
        wrong_seq = sum(1 for update_id, seq in stored_all if update_id in accepted_ids and seq != pushed_seq.get(update_id))
        return cls(scenario=scenario, sent=providers.sent_updates, accepted=len(accepted_ids), stored=len(in_table),
                   delivered=len(delivered_everywhere), lost=lost, duplicates=duplicates, out_of_order=out_of_order,
                   wrong_seq_stored=wrong_seq, retried_requests=sum(providers.refusals.values()),
                   reconnects=sum(analyst.record.reconnects for analyst in analysts))

    def row(self) -> str:
        return (f"| {self.scenario} | {self.sent:,} | {self.accepted:,} | {self.stored:,} | {self.delivered:,} | "
                f"{self.lost} | {self.duplicates} | {self.out_of_order} | {self.wrong_seq_stored} | "
                f"{self.retried_requests:,} | {self.reconnects} |")


REPORT_HEADER = ("| scenario | sent | accepted | stored | delivered | lost | duplicates | out of order | "
                 "stored with another seq | requests repeated | reconnects |\n"
                 "|---|---|---|---|---|---|---|---|---|---|---|")
