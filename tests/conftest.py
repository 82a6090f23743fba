"""Session-wide real servers for integration tests: Kafka, DynamoDB Local and Redis.

Each server comes, in this order of preference, from
1. its environment variable (KAFKA_BOOTSTRAP_SERVERS, DYNAMODB_ENDPOINT, REDIS_URL);
2. a container, when a Docker engine answers a ping (the docker client alone proves nothing);
3. the project's own local launcher, on free ports, in a temporary state folder.
Servers start once per session and stop at its end, also when pytest is stopped by SIGTERM
(``pytest_sessionstart`` turns it into an orderly stop; see ``stop_on_sigterm``). Nothing here
ever skips: a server that cannot be had is a test error.
"""

from __future__ import annotations

import gc
import os
import signal
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from sportsfeed_devstack.config import StackConfig, free_port
from sportsfeed_devstack.servers import dynamodb_answers, kafka_answers, redis_answers
from sportsfeed_devstack.stack import Stack
from sportsfeed_devstack.waiting import wait_until

CONTAINER_READY_SECONDS = 120

ENV_VARS = {"kafka": "KAFKA_BOOTSTRAP_SERVERS", "dynamodb": "DYNAMODB_ENDPOINT", "redis": "REDIS_URL"}


@dataclass
class Servers:
    kafka_bootstrap: str
    dynamodb_endpoint: str
    redis_url: str
    origin: dict[str, str] = field(default_factory=dict)  # how each server was obtained
    pids: dict[str, int] = field(default_factory=dict)  # of the servers this session's launcher started

    def environment(self) -> dict[str, str]:
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap,
            "DYNAMODB_ENDPOINT": self.dynamodb_endpoint,
            "REDIS_URL": self.redis_url,
        }


_SERVERS_USED: list[Servers] = []


def _docker_answers() -> bool:
    """True only if a Docker engine answers a ping; the docker client binary alone proves nothing."""
    if not os.environ.get("DOCKER_HOST") and not os.path.exists("/var/run/docker.sock"):
        return False
    import docker

    # docker-py leaks its socket when the engine does not answer; finalise it here, silently.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            client = docker.from_env(timeout=3)
            try:
                return bool(client.ping())
            finally:
                client.close()
        except Exception:  # no engine, or no permission: no Docker
            return False
        finally:
            gc.collect()


def _from_containers(needed: set[str], stack: list) -> dict[str, str]:
    from testcontainers.core.container import DockerContainer
    from testcontainers.kafka import KafkaContainer
    from testcontainers.redis import RedisContainer

    found: dict[str, str] = {}
    if "kafka" in needed:
        kafka = KafkaContainer("confluentinc/cp-kafka:7.6.0").with_kraft()
        kafka.start()
        stack.append(kafka)
        found["kafka"] = kafka.get_bootstrap_server()
        wait_until(lambda: kafka_answers(found["kafka"]), timeout=CONTAINER_READY_SECONDS, what="Kafka container")
    if "redis" in needed:
        redis_container = RedisContainer("redis:7")
        redis_container.start()
        stack.append(redis_container)
        found["redis"] = (
            f"redis://{redis_container.get_container_host_ip()}:{redis_container.get_exposed_port(6379)}/0"
        )
        wait_until(lambda: redis_answers(found["redis"]), timeout=CONTAINER_READY_SECONDS, what="Redis container")
    if "dynamodb" in needed:
        dynamodb = DockerContainer("amazon/dynamodb-local").with_exposed_ports(8000)
        dynamodb.start()
        stack.append(dynamodb)
        found["dynamodb"] = f"http://{dynamodb.get_container_host_ip()}:{dynamodb.get_exposed_port(8000)}"
        wait_until(
            lambda: dynamodb_answers(found["dynamodb"]), timeout=CONTAINER_READY_SECONDS, what="DynamoDB container"
        )
    return found


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    found = {name: os.environ[var] for name, var in ENV_VARS.items() if os.environ.get(var)}
    origin = {name: "environment" for name in found}
    needed = set(ENV_VARS) - set(found)
    containers: list = []
    launched: Stack | None = None
    try:
        if needed and _docker_answers():
            found.update(_from_containers(needed, containers))
            origin.update({name: "testcontainers" for name in needed})
        elif needed:
            config = StackConfig(
                state_dir=tmp_path_factory.mktemp("stack"),
                cache_dir=StackConfig.from_env().cache_dir,
                kafka_port=free_port(),
                kafka_controller_port=free_port(),
                dynamodb_port=free_port(),
                redis_port=free_port(),
            )
            launched = Stack(config, only=frozenset(needed))
            launched.start()
            found.update({name: config.service_environment()[ENV_VARS[name]] for name in needed})
            origin.update({name: "local launcher" for name in needed})
        pids = {status.name: status.pid for status in launched.status() if status.pid} if launched else {}
        result = Servers(found["kafka"], found["dynamodb"], found["redis"], origin, pids)
        _SERVERS_USED.append(result)
        yield result
    finally:
        if launched is not None:
            launched.stop()
        for container in reversed(containers):
            container.stop()


def stop_on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM (a CI job cancelled, a timeout in a wrapper) ends the run as Ctrl-C does.

    pytest's default for SIGTERM is to die at once, without fixture teardown, leaving the session's
    servers and every process a fixture started running. KeyboardInterrupt instead unwinds the test
    and makes pytest tear down every fixture before it exits (exit code 2, "interrupted"). Further
    SIGTERMs are ignored so they cannot cut that teardown short; SIGKILL remains the hard stop.
    """
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt("SIGTERM")


def pytest_sessionstart(session: pytest.Session) -> None:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop_on_sigterm)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for used in _SERVERS_USED:
        terminalreporter.write_sep("-", "integration servers used")
        terminalreporter.write_line(f"Kafka          {used.kafka_bootstrap} ({used.origin['kafka']})")
        terminalreporter.write_line(f"DynamoDB Local {used.dynamodb_endpoint} ({used.origin['dynamodb']})")
        terminalreporter.write_line(f"Redis          {used.redis_url} ({used.origin['redis']})")
