"""The gateway benchmark's analysts count what they receive: gaps, duplicates, conflation, resumes."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from hdrh.histogram import HdrHistogram
from sportsfeed_bench.analysts import BenchAnalyst


class Worker:
    def __init__(self) -> None:
        self.done = 0

    def analyst_done(self) -> None:
        self.done += 1


def analyst() -> tuple[BenchAnalyst, Worker]:
    worker = Worker()
    return BenchAnalyst(worker, "client-1", ["game-a"]), worker  # type: ignore[arg-type]


def odds(seq: int, game: str = "game-a", conflated: int | None = None, skipped: int | None = None) -> str:
    frame = {"type": "odds", "gameId": game, "seq": seq, "homeOdds": -110}
    if conflated is not None:
        frame["conflated"] = conflated
    if skipped is not None:
        frame["skipped"] = skipped
    return json.dumps(frame)


def test_seqs_in_order_are_clean_and_a_skipped_or_repeated_seq_is_counted() -> None:
    subject, _ = analyst()
    for seq in (1, 2, 3, 5, 5, 4):
        subject.on_frame(odds(seq))
    assert (subject.tally.frames, subject.tally.gaps, subject.tally.duplicates) == (6, 1, 2)


def test_a_conflated_frame_accounts_for_the_updates_it_stands_for() -> None:
    subject, _ = analyst()
    subject.on_frame(odds(1))
    subject.on_frame(odds(4, conflated=3))  # stands for 2, 3 and 4
    assert (subject.tally.gaps, subject.tally.conflated) == (0, 2)


def test_a_frame_that_skipped_updates_merged_into_a_later_one_is_no_gap() -> None:
    subject, _ = analyst()
    subject.on_frame(odds(1))
    subject.on_frame(odds(3, skipped=1))  # seq 2 (another market) went into seq 4
    subject.on_frame(odds(4, conflated=2))
    assert (subject.tally.gaps, subject.tally.conflated) == (0, 1)


def test_a_resume_answered_with_a_fresh_snapshot_counts_as_not_recovered() -> None:
    subject, _ = analyst()
    subject.on_frame(json.dumps({"type": "snapshot", "gameId": "game-a", "seq": 0, "recovered": False}))
    subject.on_frame(odds(1))
    subject.on_frame(json.dumps({"type": "snapshot", "gameId": "game-a", "seq": 1, "recovered": True}))
    assert subject.tally.not_recovered == 0
    subject.on_frame(json.dumps({"type": "snapshot", "gameId": "game-a", "seq": 9, "recovered": False}))
    subject.on_frame(odds(10))
    assert (subject.tally.not_recovered, subject.tally.gaps) == (1, 0)


def test_an_analyst_is_done_once_it_has_every_target_seq_over_enough_connections() -> None:
    subject, worker = analyst()
    subject.on_frame(json.dumps({"type": "hello", "connectionId": "c1"}))
    subject.expect({"game-a": 2}, min_connections=2)
    subject.on_frame(odds(1))
    subject.on_frame(odds(2))
    assert worker.done == 0  # has the seqs, but has not reconnected yet
    subject.on_frame(json.dumps({"type": "hello", "connectionId": "c2"}))
    assert worker.done == 1
    subject.on_frame(odds(3))
    assert worker.done == 1  # counted once


def test_end_to_end_latency_is_recorded_from_the_ingest_stamp() -> None:
    import time

    from sportsfeed_bench.analysts import Worker as BenchWorker

    worker = BenchWorker(pipe=None)  # type: ignore[arg-type]  # the pipe is only for commands
    subject = BenchAnalyst(worker, "client-1", None)
    ingested = time.time_ns() // 1_000_000 - 40
    subject.on_frame(json.dumps({"type": "odds", "gameId": "game-a", "seq": 1, "trace": {"ingestedAt": ingested}}))
    subject.on_frame(odds(2))  # no trace: counted, not timed
    latency = taken(worker)["end_to_end"]
    assert latency.get_total_count() == 1
    assert 40 <= latency.get_value_at_percentile(50) < 1000
    assert taken(worker)["end_to_end"].get_total_count() == 0  # taking starts afresh


def test_each_hop_is_timed_from_its_two_stamps() -> None:
    import time

    from sportsfeed_bench.analysts import Worker as BenchWorker

    worker = BenchWorker(pipe=None)  # type: ignore[arg-type]  # the pipe is only for commands
    subject = BenchAnalyst(worker, "client-1", None)
    now = time.time_ns() // 1_000_000
    trace = {"ingestedAt": now - 100, "processedAt": now - 20, "pushedAt": now - 15}
    subject.on_frame(json.dumps({"type": "odds", "gameId": "game-a", "seq": 1, "trace": trace}))
    # Without the gateway's stamp, its two hops are one.
    partial = {"ingestedAt": now - 100, "processedAt": now - 20}
    subject.on_frame(json.dumps({"type": "odds", "gameId": "game-a", "seq": 2, "trace": partial}))
    hops = taken(worker)
    assert list(hops) == ["end_to_end", "ingested->processed", "processed->pushed", "pushed->received",
                          "processed->received"]
    assert hops["ingested->processed"].get_max_value() == 80
    assert hops["ingested->processed"].get_total_count() == 2
    assert hops["processed->pushed"].get_max_value() == 5
    assert 15 <= hops["pushed->received"].get_max_value() < 1000
    assert 20 <= hops["processed->received"].get_max_value() < 1000


def taken(worker: Any) -> dict[str, HdrHistogram]:
    """What the worker answers the parent's ``latency`` command, decoded."""
    return {name: HdrHistogram.decode(encoded) for name, encoded in asyncio.run(worker.take_latency()).items()}


def test_a_batched_message_is_split_on_newlines_and_each_piece_handled_as_a_frame() -> None:
    subject, worker = analyst()
    subject.frames = "batch"
    subject.expect({"game-a": 3}, min_connections=1)
    hello = json.dumps({"type": "hello", "connectionId": "c1"}, separators=(",", ":"))
    batch = "\n".join([hello, odds(1), odds(2), odds(4, conflated=2), odds(4)])
    assert subject.on_message(batch) == 5
    assert (subject.tally.connections, subject.tally.frames, subject.tally.conflated) == (1, 4, 1)
    assert (subject.tally.gaps, subject.tally.duplicates) == (0, 1)
    assert worker.done == 1
    assert subject.on_message(odds(5) + "\n") == 1  # one frame alone, a trailing newline tolerated
    assert subject.tally.frames == 5


def test_batched_and_single_frames_tally_alike() -> None:
    frames = [odds(seq) for seq in (1, 2, 3, 5, 5)]
    one, _ = analyst()
    for frame in frames:
        one.on_frame(frame)
    batched, _ = analyst()
    batched.on_message("\n".join(frames[:2]))
    batched.on_message("\n".join(frames[2:]))
    assert batched.tally == one.tally


def test_only_a_batch_analyst_asks_the_gateway_for_batched_frames() -> None:
    import asyncio

    import pytest

    urls: list[str] = []

    class Session:
        async def ws_connect(self, url: str, **_: object) -> None:
            urls.append(url)

    worker = Worker()
    worker.session = Session()  # type: ignore[attr-defined]
    for frames in ("one", "batch"):
        asyncio.run(BenchAnalyst(worker, "c", None, frames=frames)._connect("http://gw"))  # type: ignore[arg-type]
    assert urls == ["http://gw/ws?client=c&mode=everything", "http://gw/ws?client=c&mode=everything&frames=batch"]
    with pytest.raises(ValueError):
        BenchAnalyst(worker, "c", None, frames="many")  # type: ignore[arg-type]
