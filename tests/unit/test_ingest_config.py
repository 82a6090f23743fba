"""Ingest configuration: key hashes, rate limits and the reference's date formats."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sportsfeed_common.events import InvalidEvent
from sportsfeed_common.settings import SettingsError, load_settings
from sportsfeed_ingest.auth import ApiKeys, config_entry, hash_key, new_key
from sportsfeed_ingest.payloads import parse_reference_date
from sportsfeed_ingest.ratelimit import parse_rate_limits
from sportsfeed_ingest.settings import IngestSettings

BASE = {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092"}


def test_keys_are_configured_and_checked_by_hash_only() -> None:
    acme_old, acme_new, other = new_key(), new_key(), new_key()
    keys = ApiKeys(",".join([config_entry("acme", acme_old), config_entry("acme", acme_new), config_entry("other", other)]))
    assert keys.provider_for(acme_old) == keys.provider_for(acme_new) == "acme"  # rotation: both work
    assert keys.provider_for(other) == "other"
    assert keys.provider_for(None) is None
    assert keys.provider_for("") is None
    assert keys.provider_for(acme_old + "x") is None
    assert acme_old not in config_entry("acme", acme_old)
    assert config_entry("acme", acme_old) == f"acme=sha256:{hash_key(acme_old)}"


def test_a_plain_key_pasted_into_the_config_is_refused_without_being_echoed() -> None:
    key = new_key()
    with pytest.raises(SettingsError) as refused:
        load_settings(IngestSettings, {**BASE, "API_KEYS": f"acme={key}"})
    assert str(refused.value).startswith("API_KEYS: ")
    assert key not in str(refused.value)


@pytest.mark.parametrize(
    ("config", "expected"),
    [("*=5000/second", {"*": 1}), ("*=10/second;100/minute,acme=50000/second", {"*": 2, "acme": 1})],
)
def test_rate_limits_parse(config: str, expected: dict[str, int]) -> None:
    assert {provider: len(items) for provider, items in parse_rate_limits(config).items()} == expected


@pytest.mark.parametrize("config", ["5000/second", "acme=lots", "=5/second"])
def test_bad_rate_limits_name_the_variable(config: str) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(IngestSettings, {**BASE, "RATE_LIMITS": config})
    assert str(refused.value).startswith("RATE_LIMITS: ")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1_700_000_000, datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
        (1_700_000_000.25, datetime(2023, 11, 14, 22, 13, 20, 250000, tzinfo=UTC)),
        ("2019-03-03 13:00:00", datetime(2019, 3, 3, 13, tzinfo=UTC)),
        ("2019-03-03 13:00:00.000", datetime(2019, 3, 3, 13, tzinfo=UTC)),
        ("2019-03-03T13:00:00.5Z", datetime(2019, 3, 3, 13, 0, 0, 500000, tzinfo=UTC)),
    ],
)
def test_reference_dates(value: float | str, expected: datetime) -> None:
    assert parse_reference_date(value) == expected


@pytest.mark.parametrize(
    "value", ["2019-02-30 13:00:00", "03/03/2019", "2019-03-03", "1700000000", "1969-12-31 23:59:59"]
)
def test_bad_reference_dates_are_refused_on_the_date_field(value: str) -> None:
    with pytest.raises(InvalidEvent) as refused:
        parse_reference_date(value)
    assert refused.value.field == "date"
