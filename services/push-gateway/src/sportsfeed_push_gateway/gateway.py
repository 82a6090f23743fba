"""Records from Kafka become the book's state and frames for the sockets that want them."""

from __future__ import annotations

import logging

from aiokafka import ConsumerRecord
from sportsfeed_common.events import (
    Alert,
    Game,
    InvalidEvent,
    LiveUpdate,
    decode,
    encode,
    now_millis,
)
from sportsfeed_common.topics import GAMES, NOT_LIVE_HEADER, ODDS_ALERTS, ODDS_LIVE

from .book import GameBook
from .frames import alert_frame, odds_frame, status_frame
from .hub import Hub
from .metrics import GatewayMetrics

log = logging.getLogger(__name__)


class Gateway:
    def __init__(self, book: GameBook, hub: Hub, metrics: GatewayMetrics) -> None:
        self.book = book
        self.hub = hub
        self.metrics = metrics
        self._handlers = {ODDS_LIVE.name: self._live, ODDS_ALERTS.name: self._alert, GAMES.name: self._game}

    def handle(self, record: ConsumerRecord, live: bool) -> None:
        """One Kafka record; ``live`` is False while warming up (the book learns, nobody is sent anything)."""
        handler = self._handlers[record.topic]
        try:
            outcome = handler(record, live)
        except InvalidEvent as error:
            outcome = "invalid"
            log.warning("an invalid record was skipped", extra={
                "topic": record.topic, "partition": record.partition, "offset": record.offset, "error": str(error)})
        self.metrics.records.labels(record.topic, outcome).inc()

    def _live(self, record: ConsumerRecord, live: bool) -> str:
        if NOT_LIVE_HEADER in record.headers:
            return "not_live"  # an update that was not new when sequenced: for storage only, never pushed
        update = decode(record.value, LiveUpdate)
        pushed_at = now_millis()
        update.trace.pushed_at = pushed_at
        frame = odds_frame(encode(update))
        status_changed = self.book.record(update, frame)
        if status_changed is None:
            return "duplicate"
        if live:
            # A price that changed its market's status (suspended, closed, open again) is never merged away.
            delivered = self.hub.send_price(update.game_id, self.book.sport(update.game_id), frame,
                                            (update.game_id, update.provider, update.market),
                                            mergeable=not status_changed)
            self.metrics.frames_queued.labels("odds").inc(delivered)
            if update.trace.ingested_at is not None:
                self.metrics.end_to_end_seconds.observe(max(0, pushed_at - update.trace.ingested_at) / 1000)
        return "pushed"

    def _alert(self, record: ConsumerRecord, live: bool) -> str:
        alert = decode(record.value, Alert)
        status = self._status_of(alert)
        if live:
            sport = self.book.sport(alert.game_id) if alert.game_id else None
            self.metrics.frames_queued.labels("alert").inc(
                self.hub.send(alert.game_id, sport, alert_frame(encode(alert))))
            if status is not None:
                self.metrics.frames_queued.labels("status").inc(
                    self.hub.send(alert.game_id, sport, status_frame(status)))
        return "pushed"

    def _status_of(self, alert: Alert) -> dict[str, object] | None:
        """The board's state change an alert stands for, if any (and the book keeps it)."""
        at = alert.at.isoformat().replace("+00:00", "Z")
        if alert.kind == "stale" and alert.game_id is not None:
            stale = not alert.details.get("cleared", False)
            self.book.set_stale(alert.game_id, stale)
            return {"gameId": alert.game_id, "stale": stale, "at": at}
        if alert.kind == "suspended" and alert.game_id is not None:
            return {"gameId": alert.game_id, "provider": alert.provider, "market": alert.details.get("market"),
                    "marketStatus": alert.details.get("status"), "at": at}
        if alert.kind in ("provider_down", "provider_up") and alert.provider is not None:
            return {"provider": alert.provider, "down": alert.kind == "provider_down", "at": at}
        return None

    def _game(self, record: ConsumerRecord, live: bool) -> str:
        if record.value is None:
            return "tombstone"
        self.book.set_game(decode(record.value, Game))
        return "stored"
