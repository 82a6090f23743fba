"""pytest stopped by SIGTERM still stops the servers its session started (tests/conftest.py).

An inner pytest takes the session's servers, with Redis started by the launcher for it alone, and
blocks; it gets SIGTERM, as a cancelled CI job sends it, and must exit, having torn down its fixtures.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import psutil
import pytest
from sportsfeed_devstack.servers import redis_answers
from sportsfeed_devstack.waiting import wait_until

from ..conftest import Servers
from ..inner_pytest import exit_code_within, start_inner_pytest
from ..launcher_process import kill_group

pytestmark = pytest.mark.integration

HOLDS_THE_SERVERS = Path(__file__).with_name("holds_the_servers.py")
STOP_DEADLINE_SECONDS = 60


def test_sigterm_to_pytest_stops_the_servers_it_started(servers: Servers, tmp_path: Path) -> None:
    record = tmp_path / "servers.json"
    output = tmp_path / "inner-pytest.log"
    # Kafka and DynamoDB Local are this session's; Redis the inner session must start itself.
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env.update({"KAFKA_BOOTSTRAP_SERVERS": servers.kafka_bootstrap, "DYNAMODB_ENDPOINT": servers.dynamodb_endpoint,
                "HOLDS_THE_SERVERS_RECORD": str(record)})
    inner = start_inner_pytest(HOLDS_THE_SERVERS, env, output)
    started: list[psutil.Process] = []
    try:
        def holding() -> bool:
            if inner.poll() is not None:
                raise AssertionError(f"the inner pytest exited with {inner.returncode}:\n{output.read_text()}")
            return record.exists()

        wait_until(holding, timeout=180, what="the inner pytest to hold its servers")
        held = json.loads(record.read_text())
        assert redis_answers(held["redis_url"])
        started.extend(psutil.Process(pid) for pid in held["pids"].values())
        if held["origin"]["redis"] == "local launcher":
            assert set(held["pids"]) == {"redis"} and all(process.is_running() for process in started)

        inner.send_signal(signal.SIGTERM)  # to pytest alone, as a CI runner does

        code = exit_code_within(inner, STOP_DEADLINE_SECONDS, output, "after SIGTERM")
    finally:
        kill_group(inner, grace=10)
    text = output.read_text(errors="replace")
    assert code == pytest.ExitCode.INTERRUPTED, text
    _gone, alive = psutil.wait_procs(started, timeout=10)
    for leftover in alive:  # judged below; not left running for the rest of the session
        leftover.kill()
    assert alive == [], text
    assert not redis_answers(held["redis_url"])
