"""Settings that pass every check, for the load test's unit tests to vary one field at a time."""

from __future__ import annotations

from .sportsfeed_load.settings import LoadSettings

GOOD = LoadSettings(rate=500, games=50, batch_size=20, feeds_share=0.5, providers=4, provider_key="secret",
                    gateway_url="http://127.0.0.1:8080", analyst_games=0, drain_seconds=30)
