"""Launcher configuration and the port-in-use check (no servers started)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from sportsfeed_devstack.config import StackConfig, StackError
from sportsfeed_devstack.stack import Stack


def test_defaults_are_the_design_ports(tmp_path: Path) -> None:
    config = StackConfig.from_env({"HOME": str(tmp_path)})
    assert (config.kafka_port, config.kafka_controller_port, config.dynamodb_port, config.redis_port) == (
        9092, 9093, 8000, 6379,
    )
    assert config.service_environment() == {
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092",
        "DYNAMODB_ENDPOINT": "http://127.0.0.1:8000",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
    }
    assert config.cache_dir == tmp_path / ".cache" / "sportsfeed"


def test_ports_and_folders_are_configurable(tmp_path: Path) -> None:
    config = StackConfig.from_env(
        {"SPORTSFEED_KAFKA_PORT": "19092", "SPORTSFEED_REDIS_PORT": "16379", "SPORTSFEED_STATE_DIR": str(tmp_path)}
    )
    assert (config.kafka_port, config.redis_port, config.state_dir) == (19092, 16379, tmp_path)


@pytest.mark.parametrize("value", ["abc", "0", "65536", "-1"])
def test_a_bad_port_names_the_variable(value: str) -> None:
    with pytest.raises(StackError, match="SPORTSFEED_DYNAMODB_PORT"):
        StackConfig.from_env({"SPORTSFEED_DYNAMODB_PORT": value})


def test_a_taken_port_is_reported_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        config = StackConfig(state_dir=tmp_path / "state", cache_dir=tmp_path / "cache", redis_port=taken)
        stack = Stack(config, only=frozenset({"redis"}))
        stack.install = lambda: None  # type: ignore[method-assign]  # no download for this check
        with pytest.raises(StackError) as refused:
            stack.start()
    assert f"Redis port {taken}" in str(refused.value)
    assert "SPORTSFEED_REDIS_PORT" in str(refused.value)
    assert not list((tmp_path / "state").glob("*.pid"))


def test_dynamodb_local_keeps_tables_on_disk_unless_asked_for_memory(tmp_path: Path) -> None:
    from sportsfeed_devstack.servers import DynamoDBLocal

    on_disk = DynamoDBLocal(StackConfig(state_dir=tmp_path, cache_dir=tmp_path)).argv()
    in_memory = DynamoDBLocal(StackConfig(state_dir=tmp_path, cache_dir=tmp_path, dynamodb_in_memory=True)).argv()
    assert "-dbPath" in on_disk and "-inMemory" not in on_disk
    assert "-inMemory" in in_memory and "-dbPath" not in in_memory


def test_the_local_stack_raises_rate_low_when_the_simulated_provider_slows_or_stops() -> None:
    from sportsfeed_devstack.applications import SIMULATED_PROVIDER, local_rate_low_thresholds
    from sportsfeed_stream_processor.alerts import parse_rate_thresholds

    # 20 updates/s is 1,200 a minute: under 900 in a completed minute (a stop mid-minute) is rate_low.
    assert parse_rate_thresholds(local_rate_low_thresholds(20)) == {"*": 60, SIMULATED_PROVIDER: 900}
    assert parse_rate_thresholds(local_rate_low_thresholds(0.01))[SIMULATED_PROVIDER] == 1
