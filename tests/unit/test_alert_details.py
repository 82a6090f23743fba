"""Alerts carry typed details per kind; the JSON is the one the untyped details made, and it decodes back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from sportsfeed_common import events
from sportsfeed_common.events import AnyAlert, InvalidEvent, decode_alert, encode

AT = datetime(2026, 11, 23, 10, 0, 5, 250000, tzinfo=UTC)
SEEN = "2026-11-23T09:59:00.125000+00:00"  # as the processor writes times in details: isoformat()


def _before(kind: str, details: dict[str, Any], game_id: str | None = "game-1", provider: str | None = "acme",
            severity: str = "warning") -> bytes:
    """The bytes the alert made while ``details`` was a plain dict."""
    return msgspec.json.encode({"kind": kind, "gameId": game_id, "provider": provider, "severity": severity,
                                "message": "m", "at": AT, "details": details})


CASES = [
    (events.MovementAlert(
        game_id="game-1", provider="acme", message="m", at=AT,
        details=events.MovementDetails(market="spread", seq=7, shift=0.051234, home_odds=-110.0, away_odds=150.0)),
     _before("movement", {"market": "spread", "seq": 7, "shift": 0.051234, "homeOdds": -110.0, "awayOdds": 150.0})),
    (events.SuspendedAlert(
        game_id="game-1", provider="acme", message="m", at=AT,
        details=events.SuspendedDetails(market="1x2", seq=3, status="suspended", previous_status="open")),
     _before("suspended", {"market": "1x2", "seq": 3, "status": "suspended", "previousStatus": "open"})),
    (events.StaleAlert(
        game_id="game-1", message="m", at=AT,
        details=events.StaleDetails(cleared=False, quiet_seconds=30, last_update_at=SEEN)),
     _before("stale", {"cleared": False, "quietSeconds": 30, "lastUpdateAt": SEEN}, provider=None)),
    (events.StaleAlert(
        game_id="game-1", message="m", at=AT, severity="info", details=events.StaleDetails(cleared=True)),
     _before("stale", {"cleared": True}, provider=None, severity="info")),
    (events.ProviderDownAlert(
        provider="acme", message="m", at=AT, severity="critical",
        details=events.ProviderDownDetails(quiet_seconds=90, last_seen_at=SEEN)),
     _before("provider_down", {"quietSeconds": 90, "lastSeenAt": SEEN}, game_id=None, severity="critical")),
    (events.ProviderUpAlert(
        provider="acme", message="m", at=AT, severity="info", details=events.ProviderUpDetails()),
     _before("provider_up", {}, game_id=None, severity="info")),
    (events.RateLowAlert(
        provider="acme", message="m", at=AT,
        details=events.RateLowDetails(minute="2026-11-23T09:59:00+00:00", count=2, threshold=60)),
     _before("rate_low", {"minute": "2026-11-23T09:59:00+00:00", "count": 2, "threshold": 60}, game_id=None)),
]


@pytest.mark.parametrize(("alert", "before"), CASES, ids=[alert.kind for alert, _ in CASES])
def test_typed_details_make_the_same_json_and_decode_back(alert: AnyAlert, before: bytes) -> None:
    assert encode(alert) == before
    decoded = decode_alert(before)
    assert type(decoded) is type(alert) and decoded == alert
    assert encode(decoded) == before


def test_alerts_without_details_default_where_the_kind_allows() -> None:
    stale = decode_alert(b'{"kind":"stale","gameId":"game-1","message":"m","at":"2026-11-23T10:00:00Z"}')
    assert isinstance(stale, events.StaleAlert) and stale.details == events.StaleDetails(cleared=False)
    with pytest.raises(InvalidEvent) as refused:
        decode_alert(b'{"kind":"movement","gameId":"game-1","message":"m","at":"2026-11-23T10:00:00Z"}')
    assert refused.value.field == "details"


def test_unknown_kinds_and_wrong_details_are_refused_naming_the_field() -> None:
    with pytest.raises(InvalidEvent) as refused:
        decode_alert(b'{"kind":"boom","gameId":"game-1","message":"m","at":"2026-11-23T10:00:00Z"}')
    assert refused.value.field == "kind"
    with pytest.raises(InvalidEvent) as refused:
        decode_alert(b'{"kind":"rate_low","provider":"acme","message":"m","at":"2026-11-23T10:00:00Z",'
                     b'"details":{"minute":"x","count":"two","threshold":3}}')
    assert refused.value.path == "$.details.count"
