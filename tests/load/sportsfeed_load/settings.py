"""The load test's settings, checked once before any user starts."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

# What one ingest request may carry (ingest's MAX_BATCH_ITEMS default).
MAX_BATCH_ITEMS = 500
# What one gateway subscribe op may name (the gateway's GameList limit).
MAX_SUBSCRIBED_GAMES = 1000


@dataclass(frozen=True)
class LoadSettings:
    rate: float  # updates per second, all provider users of the process together
    games: int
    batch_size: int
    feeds_share: float  # fraction of batches sent to PUT /feeds; the rest to POST /v1/odds
    providers: int
    provider_key: str
    gateway_url: str
    analyst_games: int  # games each analyst subscribes to; 0 for all of the run's games
    drain_seconds: float  # at stop, how long to wait for accepted updates to reach every analyst

    def __post_init__(self) -> None:
        problems = [
            problem
            for problem, wrong in (
                ("--rate must be above 0", self.rate <= 0),
                (f"--games must be 1 to {MAX_SUBSCRIBED_GAMES}", not 1 <= self.games <= MAX_SUBSCRIBED_GAMES),
                (f"--batch-size must be 1 to {MAX_BATCH_ITEMS}", not 1 <= self.batch_size <= MAX_BATCH_ITEMS),
                ("--feeds-share must be 0 to 1", not 0 <= self.feeds_share <= 1),
                ("--providers must be at least 1", self.providers < 1),
                ("--analyst-games must be 0 (all) to --games", not 0 <= self.analyst_games <= self.games),
                ("--drain-seconds must not be negative", self.drain_seconds < 0),
                ("--provider-key is empty", not self.provider_key),
                ("--gateway-url must be http(s)://host:port",
                 urlsplit(self.gateway_url).scheme not in ("http", "https", "ws", "wss")),
            )
            if wrong
        ]
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def games_per_analyst(self) -> int:
        return self.analyst_games or self.games

    def socket_url(self, client_id: str) -> str:
        """The gateway's WebSocket URL for one analyst; an http(s) gateway URL is turned into ws(s).

        ``mode=subscribed``: the socket gets no update before its subscribe, so the subscription's
        ``since`` decides alone what is replayed (docs/push-gateway.md, "Subscribing without a race").
        """
        parts = urlsplit(self.gateway_url)
        scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
        query = urlencode({"client": client_id, "mode": "subscribed"})
        return urlunsplit((scheme, parts.netloc, "/ws", query, ""))

    def public(self) -> dict[str, object]:
        """The settings as written into the summary: everything but the key."""
        return {name: value for name, value in vars(self).items() if name != "provider_key"}
