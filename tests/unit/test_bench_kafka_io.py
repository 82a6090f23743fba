"""The benchmarks' direct Kafka reads, without a broker: how far a consumer group's committed offsets
are behind a topic's end offsets, and reading them without ever joining the group."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import CoordinatorNotAvailableError, GroupAuthorizationFailedError
from aiokafka.structs import OffsetAndMetadata
from sportsfeed_bench.kafka_io import CommittedOffsets, partitions_of, uncommitted
from sportsfeed_common.topics import ODDS_LIVE

P0, P1, P2 = (TopicPartition(ODDS_LIVE.name, p) for p in range(3))


def test_nothing_is_behind_once_every_partition_is_committed_up_to_its_end() -> None:
    assert uncommitted({P0: 10, P1: 5}, {P0: 10, P1: 5, P2: 7}) == {}
    assert uncommitted({P0: 10}, {P0: 12}) == {}  # committed past the end read: records produced since


def test_a_partition_behind_counts_the_records_not_yet_committed() -> None:
    assert uncommitted({P0: 10, P1: 5}, {P0: 7, P1: 5}) == {P0: 3}


def test_a_partition_never_committed_on_counts_from_the_start() -> None:
    assert uncommitted({P0: 4, P1: 6, P2: 0}, {P0: -1}) == {P0: 4, P1: 6}  # -1: Kafka's "no offset"


class FakeAdmin:
    """An admin client answering OffsetFetch with ``offsets``, after raising each of ``errors`` once."""

    def __init__(self, offsets: dict[TopicPartition, int], *errors: Exception) -> None:
        self.offsets = offsets
        self.errors = list(errors)
        self.lookups = 0
        self.requests: list[tuple[str, int | None, list[TopicPartition]]] = []

    async def find_coordinator(self, group: str) -> int:
        self.lookups += 1
        return 7

    async def list_consumer_group_offsets(self, group: str, coordinator: int | None,
                                          partitions: list[TopicPartition]) -> dict[TopicPartition, Any]:
        self.requests.append((group, coordinator, partitions))
        if self.errors:
            raise self.errors.pop(0)
        return {partition: OffsetAndMetadata(offset, "") for partition, offset in self.offsets.items()}


def reader(admin: FakeAdmin) -> CommittedOffsets:
    committed = CommittedOffsets("127.0.0.1:9", "sportsfeed-persistence", ODDS_LIVE)
    committed._admin = admin  # type: ignore[assignment]  # the broker's side, faked
    return committed


async def test_the_offsets_of_every_partition_are_asked_of_the_groups_coordinator_found_once() -> None:
    admin = FakeAdmin({P0: 3, P1: -1})
    committed = reader(admin)
    assert await committed.fetch() == {P0: 3, P1: -1}
    assert await committed.fetch() == {P0: 3, P1: -1}
    assert admin.lookups == 1
    assert admin.requests[0] == ("sportsfeed-persistence", 7, partitions_of(ODDS_LIVE))


async def test_a_retriable_error_means_ask_again_and_look_the_coordinator_up_again() -> None:
    admin = FakeAdmin({P0: 3}, CoordinatorNotAvailableError())
    committed = reader(admin)
    assert await committed.fetch() is None
    assert await committed.fetch() == {P0: 3}
    assert admin.lookups == 2


async def test_an_error_that_would_repeat_is_raised() -> None:
    with pytest.raises(GroupAuthorizationFailedError):
        await reader(FakeAdmin({}, GroupAuthorizationFailedError())).fetch()
