"""The Kafka topics of DESIGN.md and an idempotent command that creates them.

Topics are never left to broker auto-creation: partition counts and
compaction are part of the contract (keying by gameId keeps each game's
updates in order only while the partition count stays fixed).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import NoError, TopicAlreadyExistsError, for_code

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)


ODDS_RAW = TopicSpec("odds.raw", 12)
GAMES = TopicSpec("games", 3, {"cleanup.policy": "compact"})
ODDS_LIVE = TopicSpec("odds.live", 12)
ODDS_ALERTS = TopicSpec("odds.alerts", 3)

# An ``odds.live`` record with this header carries an OddsUpdate that was not new when the stream
# processor read it (a provider's retry, a replay, or a price older than one already live): it has
# no seq and is never pushed, but persistence stores it if the table lacks it, so nothing accepted
# is missing from the history.
NOT_LIVE_HEADER = ("sportsfeed-not-live", b"1")

# An ``odds.live`` record with this header carries a LiveUpdate the stream processor sequenced but did
# not fold into its series: its minute was older than the series horizon. Persistence counts it when it
# first stores it, as it counts the not-new ones, so every update is counted in the minute it belongs to.
UNCOUNTED_HEADER = ("sportsfeed-uncounted", b"1")


def dead_letter(topic: TopicSpec) -> TopicSpec:
    """Where a consumer parks what it gave up on: one partition, original key and bytes."""
    return TopicSpec(f"{topic.name}.dlq", 1)


def dead_letter_headers(source_topic: str, partition: int, offset: int, error: str) -> list[tuple[str, bytes]]:
    """The headers of every parked message, whoever parked it: where it came from and why, for the
    operator who reads the dead-letter topic (and can produce it back to its source once fixed)."""
    return [
        ("error", error.encode()[:1000]),
        ("source-topic", source_topic.encode()),
        ("source-partition", str(partition).encode()),
        ("source-offset", str(offset).encode()),
        ("parked-at", datetime.now(UTC).isoformat().encode()),
    ]


# The stream processor's own: each worker's per-provider activity, keyed by provider, so that one
# worker sees a provider's whole feed (provider_down / rate_low). Only the last hour matters.
PROVIDER_ACTIVITY = TopicSpec("provider.activity", 3, {"retention.ms": str(60 * 60 * 1000)})

MAIN_TOPICS = (ODDS_RAW, GAMES, ODDS_LIVE, ODDS_ALERTS)
ALL_TOPICS = MAIN_TOPICS + tuple(dead_letter(topic) for topic in MAIN_TOPICS) + (PROVIDER_ACTIVITY,)


@dataclass(frozen=True)
class TopicReport:
    created: list[str]
    existing: list[str]
    # Existing topics whose partition count differs from the spec; never altered automatically,
    # because changing partitions remaps keys and breaks per-game order.
    mismatched: dict[str, tuple[int, int]]


def _durability(replication_factor: int) -> dict[str, str]:
    """With three replicas or more, an acks=all write is on at least two before it is acknowledged,
    so one broker lost loses nothing acknowledged."""
    return {"min.insync.replicas": "2"} if replication_factor >= 3 else {}


async def create_topics(
    bootstrap_servers: str,
    topics: tuple[TopicSpec, ...] = ALL_TOPICS,
    replication_factor: int = 1,
    client_kwargs: dict | None = None,
) -> TopicReport:
    """Create every missing topic; leave existing ones untouched. Safe to run any number of times.

    The broker's answer decides what "created" means: topic listings lag
    behind creations for a moment, and another init job may race us.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, **(client_kwargs or {}))
    await admin.start()
    try:
        response = await admin.create_topics(
            [
                NewTopic(
                    name=topic.name,
                    num_partitions=topic.partitions,
                    replication_factor=replication_factor,
                    topic_configs={**_durability(replication_factor), **topic.config},
                )
                for topic in topics
            ]
        )
        created: list[str] = []
        existing: list[str] = []
        for name, error_code, *_ in response.topic_errors:
            error = for_code(error_code)
            if error is NoError:
                created.append(name)
            elif error is TopicAlreadyExistsError:
                existing.append(name)
            else:
                raise error(f"creating topic {name}")
        partitions = await _partition_counts(admin, existing)
        mismatched = {
            topic.name: (partitions[topic.name], topic.partitions)
            for topic in topics
            if topic.name in partitions and partitions[topic.name] != topic.partitions
        }
        order = [topic.name for topic in topics]
        return TopicReport(
            created=sorted(created, key=order.index),
            existing=sorted(existing, key=order.index),
            mismatched=mismatched,
        )
    finally:
        await admin.close()


async def partition_counts(bootstrap_servers: str, names: list[str],
                           client_kwargs: dict | None = None) -> dict[str, int]:
    """How many partitions each topic has, as the broker describes it (0 for a topic it lacks)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, **(client_kwargs or {}))
    await admin.start()
    try:
        return await _partition_counts(admin, names)
    finally:
        await admin.close()


async def _partition_counts(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, int]:
    if not names:
        return {}
    described = await admin.describe_topics(names)
    return {topic["topic"]: len(topic["partitions"]) for topic in described}
