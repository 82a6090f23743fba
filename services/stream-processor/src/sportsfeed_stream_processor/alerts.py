"""Alerts, and the watchers that raise feed-health alerts with a clock they are given.

Every alert goes to ``odds.alerts`` keyed by its game (or provider). A raised
condition is remembered so it is raised once, and cleared once: ``stale``
clears with a ``stale`` alert whose ``details.cleared`` is true (severity
info); ``provider_down`` clears with ``provider_up``.

The watchers keep their memory in the process: after a restart a condition
that still holds is raised again. Alerts are therefore at-least-once; their
consumers show the latest state per game or provider.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sportsfeed_common.events import (
    Alert,
    MovementAlert,
    MovementDetails,
    ProviderDownAlert,
    ProviderDownDetails,
    ProviderUpAlert,
    ProviderUpDetails,
    RateLowAlert,
    RateLowDetails,
    StaleAlert,
    StaleDetails,
    SuspendedAlert,
    SuspendedDetails,
)
from sportsfeed_common.times import from_epoch_millis

from .sequencing import Sequenced


def at(now_ms: int) -> datetime:
    return from_epoch_millis(now_ms)


def movement_alert(sequenced: Sequenced, now_ms: int) -> Alert:
    live = sequenced.live
    return MovementAlert(
        game_id=live.game_id, provider=live.provider, severity="info", at=at(now_ms),
        message=f"{live.market} moved {sequenced.shift:.1%} in implied probability ({live.provider})",
        details=MovementDetails(market=live.market, seq=live.seq, shift=round(sequenced.shift, 6),
                                home_odds=live.home_odds, away_odds=live.away_odds),
    )


def status_alert(sequenced: Sequenced, now_ms: int) -> Alert:
    live, previous = sequenced.live, sequenced.previous
    assert previous is not None
    return SuspendedAlert(
        game_id=live.game_id, provider=live.provider, at=at(now_ms),
        severity="warning" if live.status != "open" else "info",
        message=f"{live.market} is {live.status} (was {previous.status}) at {live.provider}",
        details=SuspendedDetails(market=live.market, seq=live.seq, status=live.status,
                                 previous_status=previous.status),
    )


@dataclass
class _Game:
    last_update_ms: int
    live: bool = False
    stale: bool = False


class StaleGames:
    """A live game with no update for ``stale_after_ms`` is stale until its next update."""

    def __init__(self, stale_after_ms: int) -> None:
        self._stale_after_ms = stale_after_ms
        self._games: dict[str, _Game] = {}

    def updated(self, game_id: str, now_ms: int) -> Alert | None:
        """An update of the game was sequenced; returns the clearing alert if it was stale."""
        game = self._games.setdefault(game_id, _Game(now_ms))
        game.last_update_ms = now_ms
        if not game.stale:
            return None
        game.stale = False
        return StaleAlert(game_id=game_id, severity="info", at=at(now_ms),
                          message=f"{game_id} is updating again", details=StaleDetails(cleared=True))

    def status(self, game_id: str, live: bool, now_ms: int) -> None:
        """The game's status changed (games topic): only live games can go stale."""
        game = self._games.setdefault(game_id, _Game(now_ms))
        if live and not game.live:
            game.last_update_ms = max(game.last_update_ms, now_ms)  # the quiet period starts at kick-off
        game.live = live
        if not live:
            game.stale = False

    def forget(self, game_id: str) -> None:
        self._games.pop(game_id, None)

    def check(self, now_ms: int, owned: Callable[[str], bool] = lambda game_id: True) -> list[Alert]:
        """Raise ``stale`` for quiet live games; ``owned`` limits it to the games this worker sequences."""
        alerts = []
        for game_id, game in self._games.items():
            quiet_ms = now_ms - game.last_update_ms
            if game.live and not game.stale and quiet_ms >= self._stale_after_ms and owned(game_id):
                game.stale = True
                alerts.append(StaleAlert(
                    game_id=game_id, severity="warning", at=at(now_ms),
                    message=f"no update for {game_id} in {quiet_ms / 1000:.0f} s",
                    details=StaleDetails(cleared=False, quiet_seconds=quiet_ms // 1000,
                                         last_update_at=at(game.last_update_ms).isoformat())))
        return alerts


@dataclass
class _Provider:
    last_seen_ms: int
    down: bool = False
    per_minute: dict[int, int] | None = None  # minute (epoch s) -> updates, recent minutes only
    # The last minute whose rate was checked. It starts at the minute the provider was first seen,
    # which was only partly observed and so is never judged.
    rate_reported: int = 0


class ProviderHealth:
    """``provider_down`` after ``down_after_ms`` without an update, ``provider_up`` on the next one;
    ``rate_low`` when a provider's updates in a completed minute fall under its threshold."""

    def __init__(self, down_after_ms: int, rate_low: Mapping[str, int]) -> None:
        self._down_after_ms = down_after_ms
        self._rate_low = dict(rate_low)
        self._providers: dict[str, _Provider] = {}

    def seen(self, provider: str, updates_by_minute: Mapping[int, int], now_ms: int) -> Alert | None:
        """Updates of ``provider`` were sequenced (counted by minute of processing time)."""
        state = self._providers.setdefault(
            provider, _Provider(now_ms, per_minute={}, rate_reported=now_ms // 60_000 * 60))
        state.last_seen_ms = max(state.last_seen_ms, now_ms)
        assert state.per_minute is not None
        for minute, count in updates_by_minute.items():
            state.per_minute[minute] = state.per_minute.get(minute, 0) + count
        if not state.down:
            return None
        state.down = False
        return ProviderUpAlert(provider=provider, severity="info", at=at(now_ms),
                               message=f"{provider} is sending again", details=ProviderUpDetails())

    def check(self, now_ms: int) -> list[Alert]:
        alerts: list[Alert] = []
        current_minute = now_ms // 60_000 * 60
        for provider, state in self._providers.items():
            quiet_ms = now_ms - state.last_seen_ms
            if not state.down and quiet_ms >= self._down_after_ms:
                state.down = True
                alerts.append(ProviderDownAlert(
                    provider=provider, severity="critical", at=at(now_ms),
                    message=f"no update from {provider} in {quiet_ms / 1000:.0f} s",
                    details=ProviderDownDetails(quiet_seconds=quiet_ms // 1000,
                                                last_seen_at=at(state.last_seen_ms).isoformat())))
            alerts.extend(self._rate_check(provider, state, current_minute, now_ms))
        return alerts

    def _rate_check(self, provider: str, state: _Provider, current_minute: int, now_ms: int) -> list[Alert]:
        threshold = self._rate_low.get(provider, self._rate_low.get("*", 0))
        assert state.per_minute is not None
        completed = current_minute - 60
        alerts = []
        if threshold and completed > state.rate_reported and not state.down:
            count = state.per_minute.get(completed, 0)
            if count < threshold:
                alerts.append(RateLowAlert(
                    provider=provider, severity="warning", at=at(now_ms),
                    message=f"{provider} sent {count} updates in the minute from {at(completed * 1000):%H:%M}, "
                            f"under {threshold}",
                    details=RateLowDetails(minute=at(completed * 1000).isoformat(), count=count, threshold=threshold)))
        state.rate_reported = max(state.rate_reported, completed)
        for minute in [m for m in state.per_minute if m < completed]:
            del state.per_minute[minute]
        return alerts


def parse_rate_thresholds(text: str) -> dict[str, int]:
    """``"*=60,acme=600"``: updates per minute under which ``rate_low`` is raised (0 = never)."""
    thresholds: dict[str, int] = {}
    for entry in filter(None, (part.strip() for part in text.split(","))):
        provider, separator, value = entry.partition("=")
        if not separator or not provider.strip() or not value.strip().isdigit():
            raise ValueError(f"RATE_LOW_THRESHOLDS: {entry!r} is not provider=updates-per-minute (e.g. acme=600)")
        thresholds[provider.strip()] = int(value)
    return thresholds


def alert_key(alert: Alert) -> bytes:
    return (alert.game_id or alert.provider or "").encode()


