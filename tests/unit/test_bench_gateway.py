"""The gateway benchmark's primary figure: server CPU per delivered message, and its frame modes."""

from __future__ import annotations

import pytest
from sportsfeed_bench import gateway as gateway_bench
from sportsfeed_bench.analysts import Tally
from sportsfeed_bench.cli import argument_parser
from sportsfeed_bench.gateway import (
    DeliveryResult,
    cpu_us_per_message,
    frame_modes,
    median_cpu_us_per_message,
)
from sportsfeed_bench.ingest import Measurement


def test_cpu_per_message_is_cpu_seconds_over_messages_in_microseconds() -> None:
    assert cpu_us_per_message(0.5, 100_000) == pytest.approx(5.0)
    assert cpu_us_per_message(2.0, 400_000) == pytest.approx(5.0)
    with pytest.raises(ValueError):
        cpu_us_per_message(1.0, 0)


def test_the_median_is_taken_over_each_rounds_own_ratio() -> None:
    # Rounds of 4, 10 and 2 us per message: the median is 4, not the ratio of the sums (7.2 s / 1.2 M = 6 us).
    assert median_cpu_us_per_message([1.6, 5.0, 0.6], [400_000, 500_000, 300_000]) == pytest.approx(4.0)
    assert median_cpu_us_per_message([0.3], [100_000]) == pytest.approx(3.0)
    # An even count takes the upper middle, as the bench's other medians.
    assert median_cpu_us_per_message([0.1, 0.2, 0.3, 0.4], [100_000] * 4) == pytest.approx(3.0)


def test_a_delivery_result_reports_its_cpu_per_message_and_its_frame_mode() -> None:
    rounds = [Measurement("gateway", 400_000, 2.0), Measurement("gateway", 400_000, 1.0),
              Measurement("gateway", 400_000, 4.0)]
    result = DeliveryResult("gateway", 1_000, 400, 1.0, 2048.0, rounds, [0.5, 0.9, 0.2], Tally(),
                            [1.0, 0.9, 0.8], "batch")
    assert result.label == "gateway (frames=batch)"
    assert result.cpu_us_per_message() == pytest.approx([2.5, 2.25, 2.0])
    as_json = result.to_json()
    assert (as_json["frames"], as_json["median_cpu_us_per_message"]) == ("batch", 2.25)
    assert as_json["cpu_us_per_message"] == [2.5, 2.25, 2.0]


def test_frame_mode_both_runs_one_then_batch_and_is_the_default() -> None:
    assert frame_modes("both") == ["one", "batch"]
    assert frame_modes("batch") == ["batch"]
    parse = argument_parser().parse_args
    assert parse(["gateway"]).frame_mode == "both"
    assert parse(["gateway", "--frame-mode", "one", "--frames", "100000"]).frames == 100_000
    with pytest.raises(SystemExit):
        parse(["gateway", "--frame-mode", "many"])


def test_a_cpu_ratio_against_a_baseline_that_read_no_cpu_is_a_dash_not_a_crash() -> None:
    assert gateway_bench._ratio_text(2.0, 4.0) == "0.50"
    assert gateway_bench._ratio_text(2.0, 0.0) == "-"
