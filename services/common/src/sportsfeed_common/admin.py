"""``sportsfeed-admin``: create the Kafka topics and the DynamoDB table. Both are idempotent.

Used by the local launcher, the Kubernetes init Job and operators; settings
come from the environment like every service (KAFKA_BOOTSTRAP_SERVERS,
DYNAMODB_ENDPOINT, DYNAMODB_TABLE, AWS_REGION).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import boto3

from .aws import dynamodb_client_kwargs
from .kafka_security import KafkaSecurity, aiokafka_security
from .settings import CommonSettings, SettingsError, load_settings
from .table import TableMismatch, create_table
from .topics import create_topics


def run_create_topics(settings: CommonSettings) -> int:
    report = asyncio.run(create_topics(settings.kafka_bootstrap_servers,
                                       replication_factor=settings.topic_replication_factor,
                                       client_kwargs=aiokafka_security(KafkaSecurity.of(settings))))
    for name in report.created:
        print(f"topic {name}: created")
    for name in report.existing:
        print(f"topic {name}: exists")
    for name, (actual, expected) in report.mismatched.items():
        print(
            f"topic {name}: has {actual} partitions, the design says {expected}; "
            "left unchanged (repartitioning would break per-game order)",
            file=sys.stderr,
        )
    return 1 if report.mismatched else 0


def run_create_table(settings: CommonSettings) -> int:
    client = boto3.client("dynamodb", **dynamodb_client_kwargs(settings))
    try:
        report = create_table(client, settings.dynamodb_table)
    except TableMismatch as error:
        print(str(error), file=sys.stderr)
        return 1
    state = "created" if report.created else "exists"
    ttl = "TTL enabled on EXPIRE" if report.ttl_enabled else "TTL already on EXPIRE"
    print(f"table {settings.dynamodb_table}: {state}; {ttl}")
    return 0


COMMANDS = {"create-topics": run_create_topics, "create-table": run_create_table}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sportsfeed-admin", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=sorted(COMMANDS))
    args = parser.parse_args(argv)
    try:
        settings = load_settings(CommonSettings)
    except SettingsError as error:
        print(f"sportsfeed-admin: configuration error: {error}", file=sys.stderr)
        return 2
    return COMMANDS[args.command](settings)


if __name__ == "__main__":
    sys.exit(main())
