"""Times, in one place: the platform's resolution (UTC, milliseconds), epoch conversions and the wire formats.

Every time the platform keeps is UTC at millisecond precision and not before the
Unix epoch, so it is also an exact epoch-millisecond count. Text forms are
fixed-width ISO-8601 with ``Z`` (``YYYY-MM-DDThh:mm:ss.mmmZ``, ``YYYY-MM-DDThh:mmZ``
for minutes), so string order is time order (the table's sort keys rely on it).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_millisecond(moment: datetime) -> datetime:
    """Normalise to UTC at millisecond precision, the platform's time resolution."""
    if moment.tzinfo is UTC and moment.microsecond % 1000 == 0:
        return moment  # already normal: the common case, and on every event's hot path
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


# The year part of the times platform_time keeps, for the OpenAPI documents' date-time strings.
PLATFORM_YEAR_PATTERN = "^(19[7-9][0-9]|[2-9][0-9]{3})-"


def platform_time(field: str, moment: datetime) -> datetime:
    """``moment`` as the platform keeps times (UTC, milliseconds), or a ValueError naming ``field``.

    Times before the Unix epoch are refused: every stamp is also an epoch
    millisecond count, and such a date is a provider's bug, not a price. A
    time near year 1 with an eastern offset would not even convert to UTC.
    """
    try:
        normal = to_millisecond(moment)
    except OverflowError:
        raise ValueError(f"{field}: is out of range") from None
    if normal < EPOCH:
        raise ValueError(f"{field}: must not be before 1970-01-01T00:00:00Z")
    return normal


def minute_of(moment: datetime) -> datetime:
    """The UTC minute ``moment`` falls in (seconds and below dropped)."""
    return to_millisecond(moment).replace(second=0, microsecond=0)


def epoch_millis(moment: datetime) -> int:
    """Milliseconds since the Unix epoch, exact (integer arithmetic, no float rounding)."""
    elapsed = moment - EPOCH
    return elapsed.days * 86_400_000 + elapsed.seconds * 1000 + elapsed.microseconds // 1000


def from_epoch_millis(millis: int) -> datetime:
    """The UTC time ``millis`` milliseconds after the Unix epoch (exact, no float rounding)."""
    return EPOCH + timedelta(milliseconds=millis)


def from_epoch_seconds(seconds: int) -> datetime:
    """The UTC time ``seconds`` whole seconds after the Unix epoch."""
    return EPOCH + timedelta(seconds=seconds)


def now_millis() -> int:
    """The wall clock in epoch milliseconds: the unit of every trace stamp."""
    return time.time_ns() // 1_000_000


def iso_millis(moment: datetime) -> str:
    """Fixed-width ``YYYY-MM-DDThh:mm:ss.mmmZ`` (24 characters), so string order is time order."""
    # isoformat always pads the year to four digits; strftime("%Y") does not on every platform.
    return to_millisecond(moment).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def iso_minute(moment: datetime) -> str:
    """Fixed-width ``YYYY-MM-DDThh:mmZ`` of the minute ``moment`` falls in."""
    return minute_of(moment).replace(tzinfo=None).isoformat(timespec="minutes") + "Z"


def parse_iso(text: str) -> datetime:
    """An ISO-8601 time written by :func:`iso_millis` or :func:`iso_minute` (``Z`` for UTC) back to a datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
