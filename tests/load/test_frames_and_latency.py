"""Frames both ways, and latency from the trace stamps: end to end and per hop, in HdrHistograms."""

from __future__ import annotations

import json

import msgspec
import pytest
from hdrh.histogram import HdrHistogram
from sportsfeed_push_gateway.settings import GatewaySettings

from .sportsfeed_load.frames import (
    Trace,
    decode_frame,
    end_to_end_ms,
    hops_ms,
    subscribe_ops,
)
from .sportsfeed_load.latency import LatencyRecorder, describe, encoded

MAX_CLIENT_FRAME_BYTES = next(field.default for field in msgspec.structs.fields(GatewaySettings)
                              if field.name == "max_client_frame_bytes")

GATEWAY_ODDS_FRAME = (
    '{"type":"odds","id":"0f3c","provider":"sim","gameId":"game-load-x-000","market":"load-0",'
    '"ts":"2026-11-23T14:00:00.123Z","homeOdds":-110.0,"awayOdds":105.0,"oddsFormat":"american","status":"open",'
    '"receivedAt":"2026-11-23T14:00:00.125Z","trace":{"ingestedAt":1000,"processedAt":1010,'
    '"pushedAt":1012},"seq":7,"implied":{"home":0.52,"away":0.49},"movement":false,"date":1763906400}'
)


def test_a_gateway_odds_frame_decodes_to_what_the_analyst_needs() -> None:
    frame = decode_frame(GATEWAY_ODDS_FRAME)
    assert (frame.type, frame.game_id, frame.seq, frame.conflated) == ("odds", "game-load-x-000", 7, None)
    assert frame.trace == Trace(ingested_at=1000, processed_at=1010, pushed_at=1012)


def test_end_to_end_is_receipt_minus_ingest() -> None:
    trace = decode_frame(GATEWAY_ODDS_FRAME).trace
    assert end_to_end_ms(trace, 1015.5) == 15.5
    assert end_to_end_ms(Trace(processed_at=1), 1015.5) is None
    assert end_to_end_ms(None, 1015.5) is None


def test_hops_follow_the_pipeline_and_skip_missing_stamps() -> None:
    assert hops_ms(Trace(ingested_at=1000, processed_at=1010, pushed_at=1012), 1015.0) == {
        "ingested->processed": 10, "processed->pushed": 2, "pushed->received": 3.0}
    assert hops_ms(Trace(ingested_at=1000, pushed_at=1012), 1015.0) == {
        "ingested->pushed": 12, "pushed->received": 3.0}


def test_the_recorder_keeps_precise_percentiles_and_an_encoded_histogram() -> None:
    recorder = LatencyRecorder()
    for received in range(1, 1001):  # end to end 1..1000 ms
        recorder.record(Trace(ingested_at=0, pushed_at=0), float(received))
    described = describe(recorder.end_to_end)
    assert described["count"] == 1000
    assert described["p50_ms"] == pytest.approx(500, rel=1e-3)
    assert described["p99_ms"] == pytest.approx(990, rel=1e-3)  # Locust would say 990 or 1000, not 990.x
    assert list(recorder.hops) == ["ingested->pushed", "pushed->received"]
    assert HdrHistogram.decode(encoded(recorder.end_to_end)).get_total_count() == 1000


def test_a_frame_without_an_ingest_stamp_is_not_a_latency() -> None:
    recorder = LatencyRecorder()
    assert recorder.record(Trace(pushed_at=5), 10.0) is None
    assert describe(recorder.end_to_end) == {"count": 0}


def test_a_hop_a_hair_below_zero_is_recorded_as_zero() -> None:
    recorder = LatencyRecorder()
    recorder.record(Trace(ingested_at=10, processed_at=9), 10.0)  # whole-millisecond stamps from two processes
    assert recorder.hops["ingested->processed"].get_max_value() == 0


def test_subscribing_to_many_games_stays_within_the_gateways_frame_limit() -> None:
    since = {f"game-load-1123143420abcd-{index:03d}": 100_000 for index in range(1000)}
    ops = [json.loads(op) for op in subscribe_ops(since)]
    assert all(len(op) <= MAX_CLIENT_FRAME_BYTES for op in subscribe_ops(since))
    assert [game for op in ops for game in op["games"]] == list(since)
    assert {game: seq for op in ops for game, seq in op["since"].items()} == since
