"""sportsfeed_common.times: the one home of the platform's time rules and wire formats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sportsfeed_common.times import (
    EPOCH,
    epoch_millis,
    from_epoch_millis,
    from_epoch_seconds,
    iso_millis,
    iso_minute,
    minute_of,
    parse_iso,
    platform_time,
    to_millisecond,
)


def test_to_millisecond_normalises_to_utc_milliseconds() -> None:
    moment = datetime(2026, 11, 23, 11, 15, 30, 123456, tzinfo=timezone(timedelta(hours=1)))
    assert to_millisecond(moment) == datetime(2026, 11, 23, 10, 15, 30, 123000, tzinfo=UTC)
    assert to_millisecond(moment).tzinfo is UTC


def test_platform_time_refuses_times_before_the_epoch_naming_the_field() -> None:
    with pytest.raises(ValueError, match="^ts: must not be before 1970"):
        platform_time("ts", datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC))
    assert platform_time("ts", EPOCH) == EPOCH


@pytest.mark.parametrize("millis", [0, 1, 1_763_892_930_123, 253_402_300_799_999])
def test_epoch_millis_round_trip_exactly(millis: int) -> None:
    assert epoch_millis(from_epoch_millis(millis)) == millis


def test_epoch_seconds() -> None:
    assert from_epoch_seconds(60) == datetime(1970, 1, 1, 0, 1, tzinfo=UTC)


def test_wire_formats_are_fixed_width_and_parse_back() -> None:
    moment = datetime(2026, 11, 23, 10, 15, 30, 123456, tzinfo=UTC)
    assert iso_millis(moment) == "2026-11-23T10:15:30.123Z"
    assert iso_millis(EPOCH) == "1970-01-01T00:00:00.000Z"
    assert iso_minute(moment) == "2026-11-23T10:15Z"
    assert parse_iso(iso_millis(moment)) == to_millisecond(moment)
    assert parse_iso(iso_minute(moment)) == minute_of(moment)
