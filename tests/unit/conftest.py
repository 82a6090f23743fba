"""Fixtures for unit tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestServer

from .provider_fakes import FakeIngest


@pytest.fixture
async def ingest() -> AsyncIterator[FakeIngest]:
    fake = FakeIngest()
    async with TestServer(fake.app()) as server:
        fake.url = str(server.make_url("/"))
        yield fake
