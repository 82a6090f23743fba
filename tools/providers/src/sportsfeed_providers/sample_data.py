"""Loads the reference system's sample data: its two games through ingest, its two clients into DynamoDB.

Games go through ``PUT /v1/games`` like any provider's, so they reach every
service by the normal path. Clients have no API yet, so they are written to
the table directly. Running it again leaves the same clients (``CREATED``
keeps its first value) and re-announces the same games.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import boto3
import msgspec
from botocore.exceptions import BotoCoreError, ClientError
from sportsfeed_common.aws import dynamodb_client_kwargs
from sportsfeed_common.settings import NonEmptyStr, Secret, SettingsError, load_settings
from sportsfeed_common.times import iso_millis

from .cli import add_api_key_option, add_url_option, api_key_from, run_tool
from .client import SHORT_RETRIES, ApiError, GaveUp, IngestClient, report_retry
from .pacing import Stopped, Timekeeper, stop_aware_sleep, utc_now
from .reference_feed import REFERENCE_GAME_IDS

GAME_NAME = "World Cup Qualifier"
VENUE = "Wembley Stadium"
CLIENT_SORT_KEY = "client"


@dataclass(frozen=True)
class SampleGame:
    game_id: str
    home_team: str
    away_team: str
    days_ahead: int


SAMPLE_GAMES = (
    SampleGame(REFERENCE_GAME_IDS[0], "England", "Hungary", days_ahead=3),
    SampleGame(REFERENCE_GAME_IDS[1], "Germany", "Spain", days_ahead=4),
)
SAMPLE_CLIENTS = (("client-001", "cli-name1"), ("client-002", "cli-name2"))


def on_the_hour(moment: datetime) -> datetime:
    """``moment`` in UTC rounded to the nearest hour."""
    return (moment.astimezone(UTC) + timedelta(minutes=30)).replace(minute=0, second=0, microsecond=0)


def sample_games(now: datetime) -> list[dict[str, Any]]:
    """The ``PUT /v1/games`` items: scheduled a few days after ``now``, so they show as upcoming."""
    start = on_the_hour(now)
    return [
        {
            "gameId": game.game_id,
            "sport": "soccer",
            "name": GAME_NAME,
            "homeTeam": game.home_team,
            "awayTeam": game.away_team,
            "venue": VENUE,
            "gameDate": iso_millis(start + timedelta(days=game.days_ahead)),
            "status": "scheduled",
        }
        for game in SAMPLE_GAMES
    ]


class DynamoSettings(msgspec.Struct, rename="upper", frozen=True, kw_only=True):
    """The DynamoDB part of the shared settings, without requiring Kafka's."""

    dynamodb_endpoint: str | None = None
    dynamodb_table: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.-]{3,255}$(?!\n)")] = "sportsfeeds"
    aws_region: NonEmptyStr = "eu-west-1"

    def __post_init__(self) -> None:
        if self.dynamodb_endpoint is not None and not self.dynamodb_endpoint.startswith(
            ("http://", "https://")
        ):
            raise ValueError("DYNAMODB_ENDPOINT: must be an http:// or https:// URL")


def load_dynamo_settings(environ: Mapping[str, str] | None = None) -> DynamoSettings:
    # load_settings converts any upper-case settings struct; this one simply has no Kafka field.
    return load_settings(DynamoSettings, environ)  # type: ignore[type-var]


def client_update(table: str, client_id: str, name: str, created: int) -> dict[str, Any]:
    """UpdateItem arguments for one Client item.

    ``if_not_exists`` keeps the first ``CREATED``, so a second run changes nothing.
    UPDATED_OLD returns the previous values, which tells a new item from an existing one.
    """
    return {
        "TableName": table,
        "Key": {"PK": {"S": client_id}, "SK": {"S": CLIENT_SORT_KEY}},
        # NAME is a DynamoDB reserved word, hence placeholders.
        "UpdateExpression": (
            "SET #name = :name, #active = :active, #created = if_not_exists(#created, :created)"
        ),
        "ExpressionAttributeNames": {"#name": "NAME", "#active": "ACTIVE", "#created": "CREATED"},
        "ExpressionAttributeValues": {
            ":name": {"S": name},
            ":active": {"S": "Y"},
            ":created": {"N": str(created)},
        },
        "ReturnValues": "UPDATED_OLD",
    }


def write_client(dynamodb: Any, table: str, client_id: str, name: str, created: int) -> str:
    """Write one client; says whether it was ``created``, ``updated`` or ``unchanged``."""
    old = dynamodb.update_item(**client_update(table, client_id, name, created)).get("Attributes")
    if not old:
        return "created"
    if old.get("NAME") == {"S": name} and old.get("ACTIVE") == {"S": "Y"}:
        return "unchanged"
    return "updated"


def write_clients(dynamodb: Any, table: str, now: datetime) -> bool:
    created = int(now.timestamp())
    for client_id, name in SAMPLE_CLIENTS:
        try:
            outcome = write_client(dynamodb, table, client_id, name, created)
        except ClientError as error:
            print(f"error: client {client_id}: {describe_dynamodb_error(error, table)}", file=sys.stderr)
            return False
        print(f"client {client_id} ({name}): {outcome} in table {table}")
    return True


def describe_dynamodb_error(error: ClientError, table: str) -> str:
    code = error.response.get("Error", {}).get("Code", "")
    if code == "ResourceNotFoundException":
        return f"table {table} does not exist; create it with 'sportsfeed-admin create-table'"
    return str(error)


def load_clients(settings: DynamoSettings, now: datetime) -> bool:
    # dynamodb_client_kwargs reads only the endpoint and region, which this struct carries.
    kwargs = dynamodb_client_kwargs(settings)  # type: ignore[arg-type]
    try:
        with contextlib.closing(boto3.client("dynamodb", **kwargs)) as dynamodb:
            return write_clients(dynamodb, settings.dynamodb_table, now)
    except BotoCoreError as error:
        print(f"error: DynamoDB: {error}", file=sys.stderr)
        return False


async def load_games(url: str, api_key: Secret, timekeeper: Timekeeper, now: datetime) -> bool:
    games = sample_games(now)
    async with IngestClient(
        url, api_key, policy=SHORT_RETRIES, sleep=timekeeper.sleep, on_retry=report_retry
    ) as client:
        try:
            reply = await client.put_games(games)
        except (ApiError, GaveUp) as error:
            print(f"error: games: {error}", file=sys.stderr)
            return False
        except Stopped:
            print("error: games: stopped before ingest answered", file=sys.stderr)
            return False
    for game in games:
        print(f"game {game['gameId']} ({game['homeTeam']} v {game['awayTeam']}, {game['gameDate']}): sent")
    print(f"ingest answered {reply.status} {reply.text}")
    return True


@dataclass(frozen=True)
class Options:
    url: str
    api_key: Secret


def parse_args(argv: Sequence[str] | None, environ: Mapping[str, str]) -> Options:
    parser = argparse.ArgumentParser(
        prog="sportsfeed-sample-data",
        description="Load the reference's sample games (through ingest) and clients (into DynamoDB). "
        "DynamoDB is configured by DYNAMODB_ENDPOINT, DYNAMODB_TABLE and AWS_REGION.",
    )
    add_url_option(parser, environ)
    add_api_key_option(parser, environ, required=True)
    args = parser.parse_args(argv)
    api_key = api_key_from(parser, args, required=True)
    assert api_key is not None
    return Options(url=args.url, api_key=api_key)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv, os.environ)
    try:
        settings = load_dynamo_settings()
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    now = utc_now()

    async def games(stop: asyncio.Event) -> int:
        loop = asyncio.get_running_loop()
        timekeeper = Timekeeper(loop.time, stop_aware_sleep(stop))
        loaded = await load_games(options.url, options.api_key, timekeeper, now)
        return 0 if loaded else 1

    games_loaded = run_tool(games) == 0
    clients_loaded = load_clients(settings, now)
    return 0 if games_loaded and clients_loaded else 1


if __name__ == "__main__":
    sys.exit(main())
