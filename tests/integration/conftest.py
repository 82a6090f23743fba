"""Fixtures shared by the integration tests (the servers themselves come from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ..ws_client import Analyst


@pytest.fixture
async def analysts() -> AsyncIterator[list[Analyst]]:
    """WebSocket clients a test connects register here and are closed at its end."""
    connected: list[Analyst] = []
    yield connected
    for analyst in connected:
        await analyst.close()
