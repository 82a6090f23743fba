"""Records from Kafka become the book's state and frames for the sockets that want them."""

from __future__ import annotations

import logging

from aiokafka import ConsumerRecord
from sportsfeed_common.events import Alert, Game, InvalidEvent, LiveUpdate, StaleAlert, decode, decode_alert, encode
from sportsfeed_common.times import from_epoch_millis, iso_millis, now_millis
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
        recorded = self.book.record(update, frame)
        if recorded is None:
            return "duplicate"
        if live:
            game_id, sport = update.game_id, self.book.sport(update.game_id)
            if recorded.gap:
                # Updates of the game never reached this gateway: whoever shows it must start afresh.
                self._send_status(game_id, sport, {"gameId": game_id, "resyncing": True, "at": _iso(pushed_at)})
            # A price that changed its market's status (suspended, closed, open again) is never merged away,
            # and its status frame follows it on the same queues, so the two arrive in order.
            delivered = self.hub.send_price(game_id, sport, frame, (game_id, update.provider, update.market),
                                            mergeable=not recorded.status_changed)
            self.metrics.frames_queued.labels("odds").inc(delivered)
            if recorded.status_changed:
                self._send_status(game_id, sport, {"gameId": game_id, "provider": update.provider,
                                                   "market": update.market, "marketStatus": update.status,
                                                   "at": _iso(pushed_at)})
            if update.trace.ingested_at is not None:
                self.metrics.end_to_end_seconds.observe(max(0, pushed_at - update.trace.ingested_at) / 1000)
        return "pushed"

    def _send_status(self, game_id: str | None, sport: str | None, status: dict[str, object]) -> None:
        self.metrics.frames_queued.labels("status").inc(self.hub.send(game_id, sport, status_frame(status)))

    def _alert(self, record: ConsumerRecord, live: bool) -> str:
        alert = decode_alert(record.value)
        status = self._status_of(alert)
        if live:
            sport = self.book.sport(alert.game_id) if alert.game_id else None
            self.metrics.frames_queued.labels("alert").inc(
                self.hub.send(alert.game_id, sport, alert_frame(encode(alert))))
            if status is not None:
                self._send_status(alert.game_id, sport, status)
        return "pushed"

    def _status_of(self, alert: Alert) -> dict[str, object] | None:
        """The board's state change an alert stands for, if any (and the book keeps it)."""
        at = alert.at.isoformat().replace("+00:00", "Z")
        if isinstance(alert, StaleAlert) and alert.game_id is not None:
            stale = not alert.details.cleared
            self.book.set_stale(alert.game_id, stale)
            return {"gameId": alert.game_id, "stale": stale, "at": at}
        # A market's status change is pushed from odds.live, in order with its prices (see _live); the
        # "suspended" alert that also reports it goes out as an alert only.
        if alert.kind in ("provider_down", "provider_up") and alert.provider is not None:
            return {"provider": alert.provider, "down": alert.kind == "provider_down", "at": at}
        return None

    def _game(self, record: ConsumerRecord, live: bool) -> str:
        if record.value is None:
            return "tombstone"
        game = decode(record.value, Game)
        if self.book.set_game(game) and live:
            self._send_status(game.game_id, game.sport, {"gameId": game.game_id, "gameStatus": game.status,
                                                        "at": _iso(now_millis())})
        return "stored"


def _iso(epoch_millis: int) -> str:
    return iso_millis(from_epoch_millis(epoch_millis))
