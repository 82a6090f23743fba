"""A DynamoDB table of a test's own, on the session's DynamoDB Local, made as the launcher makes it."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
from sportsfeed_common.aws import dynamodb_client_kwargs
from sportsfeed_common.settings import CommonSettings, load_settings
from sportsfeed_common.table import create_table


def fresh_table(servers, name: str | None = None) -> CommonSettings:
    """Create a new table (``it-`` and a random suffix unless ``name`` is given), with its indexes and TTL,
    so that only what the test writes is in it. Returns the settings naming it (``dynamodb_table``)."""
    settings = load_settings(
        CommonSettings, {**servers.environment(), "DYNAMODB_TABLE": name or f"it-{uuid.uuid4().hex[:8]}"}
    )
    create_table(boto3.client("dynamodb", **dynamodb_client_kwargs(settings)), settings.dynamodb_table)
    return settings


def table_of(settings: CommonSettings) -> Any:
    """The boto3 Table resource of the table ``settings`` name."""
    return boto3.resource("dynamodb", **dynamodb_client_kwargs(settings)).Table(settings.dynamodb_table)
