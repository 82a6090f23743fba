"""The README's run command, as a user runs it: ./sportsfeed up / status / down.

Each test runs its own stack on free ports in a temporary state folder,
sharing only the download cache, so it never touches a stack the developer
has running.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from aiokafka import AIOKafkaConsumer
from playwright.sync_api import expect, sync_playwright
from sportsfeed_common.events import LiveUpdate, OddsUpdate, decode
from sportsfeed_common.topics import NOT_LIVE_HEADER, ODDS_LIVE, ODDS_RAW
from sportsfeed_devstack.applications import SIMULATED_PROVIDER, LocalProviderKeys
from sportsfeed_devstack.config import StackConfig, free_port
from sportsfeed_devstack.waiting import wait_until

from ..inner_pytest import exit_code_within, start_inner_pytest
from ..launcher_process import COMMAND, REPO, kill_group, processes_of, up_then_stop

pytestmark = [pytest.mark.integration, pytest.mark.stack]

# The Ctrl-C test as it would be if it failed: not collected by a normal run (its name does not
# start with test_), only run, as an inner pytest, by test_a_ctrl_c_test_that_fails_still_ends_in_bounded_time.
FAILING_CTRL_C = Path(__file__).with_name("failing_ctrl_c.py")
FAILING_VARIANT_DEADLINE_SECONDS = 120


@pytest.fixture
def stack_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {
        **os.environ,
        "SPORTSFEED_STATE_DIR": str(tmp_path / "state"),
        "SPORTSFEED_CACHE_DIR": str(StackConfig.from_env().cache_dir),
        "SPORTSFEED_KAFKA_PORT": str(free_port()),
        "SPORTSFEED_KAFKA_CONTROLLER_PORT": str(free_port()),
        "SPORTSFEED_DYNAMODB_PORT": str(free_port()),
        "SPORTSFEED_REDIS_PORT": str(free_port()),
        "SPORTSFEED_INGEST_PORT": str(free_port()),
        "SPORTSFEED_PERSISTENCE_PORT": str(free_port()),
        "SPORTSFEED_PROCESSOR_PORT": str(free_port()),
        "SPORTSFEED_GATEWAY_PORT": str(free_port()),
    }
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "DYNAMODB_ENDPOINT", "REDIS_URL"):
        env.pop(name, None)
    yield env
    # Whatever a failed test left running is stopped, then the test above it is judged.
    subprocess.run([COMMAND, "down"], env=env, capture_output=True, timeout=120, check=False)


def read_json(url: str) -> dict | None:
    """The JSON body of a 200 answer, else None."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.load(response)
    except urllib.error.URLError:  # 404 until stored, or not answering yet
        return None


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([COMMAND, *args], env=env, capture_output=True, text=True, timeout=300, check=False)


async def first_update_from(bootstrap: str, provider: str, topic: str = ODDS_RAW.name,
                            event_type: type[OddsUpdate] = OddsUpdate) -> OddsUpdate:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        async with asyncio.timeout(60):
            async for record in consumer:
                if NOT_LIVE_HEADER in record.headers:
                    continue  # not new when sequenced: no seq, never pushed
                update = decode(record.value, event_type)
                if update.provider == provider:
                    return update
    finally:
        await consumer.stop()
    raise AssertionError("unreachable")


async def first_frame_from(gateway: str, kind: str) -> dict:
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{gateway}/ws?client=client-001") as socket:
        async with asyncio.timeout(60):
            async for message in socket:
                frame = json.loads(message.data)
                if frame["type"] == kind:
                    return frame
    raise AssertionError(f"the socket closed before a {kind} frame")


def posted_update_appears_in_the_dashboard(gateway: str, ingest: str, state_dir: str, screenshot: Path) -> None:
    """The analysts' view end to end: the dashboard in Debian's Chromium shows an update posted to ingest."""
    game_id = f"game-e2e-{uuid.uuid4().hex[:8]}"
    body = json.dumps({"updates": [{
        "provider": "sim", "gameId": game_id, "market": "moneyline",
        "ts": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "homeOdds": 2.15, "awayOdds": 1.8, "oddsFormat": "decimal"}]}).encode()
    key = LocalProviderKeys(Path(state_dir)).key_for(SIMULATED_PROVIDER)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{gateway}/")
            expect(page.locator("#connection-state")).to_have_text("live", timeout=30_000)
            request = urllib.request.Request(f"{ingest}/v1/odds", data=body, method="POST", headers={
                "Content-Type": "application/json", "X-API-Key": key})
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 202
            expect(page.locator(f'tr[data-game="{game_id}"]')).to_have_count(1, timeout=30_000)
            page.screenshot(path=str(screenshot), full_page=True)
            print(f"dashboard screenshot: {screenshot}")
        finally:
            browser.close()


CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def test_up_runs_the_platform_and_down_leaves_nothing(stack_env: dict[str, str], tmp_path: Path) -> None:
    state = stack_env["SPORTSFEED_STATE_DIR"]
    up = run(stack_env, "up", "--detach")
    assert up.returncode == 0, up.stdout + up.stderr
    kafka = f"127.0.0.1:{stack_env['SPORTSFEED_KAFKA_PORT']}"
    dynamodb = f"http://127.0.0.1:{stack_env['SPORTSFEED_DYNAMODB_PORT']}"
    redis_url = f"redis://127.0.0.1:{stack_env['SPORTSFEED_REDIS_PORT']}/0"
    ingest = f"http://127.0.0.1:{stack_env['SPORTSFEED_INGEST_PORT']}"
    persistence = f"http://127.0.0.1:{stack_env['SPORTSFEED_PERSISTENCE_PORT']}"
    gateway = f"http://127.0.0.1:{stack_env['SPORTSFEED_GATEWAY_PORT']}"
    for line in (
        f"export KAFKA_BOOTSTRAP_SERVERS={kafka}",
        f"export DYNAMODB_ENDPOINT={dynamodb}",
        f"export REDIS_URL={redis_url}",
        "topic odds.raw: created",
        "table sportsfeeds: created; TTL enabled on EXPIRE",
        f"ingest: ready at {ingest}",
        f"persistence: ready at {persistence}",
        f"stream-processor: ready at http://127.0.0.1:{stack_env['SPORTSFEED_PROCESSOR_PORT']}",
        f"push-gateway: ready at {gateway}",
    ):
        assert line in up.stdout
    assert len(processes_of(state)) >= 8

    status = run(stack_env, "status")
    assert status.returncode == 0, status.stdout
    assert status.stdout.count("running (pid") == 8

    # Broker logging works: the published POMs alone would leave SLF4J on its no-op logger.
    assert "Kafka Server started" in (Path(state) / "logs" / "kafka.log").read_text()
    # The simulated provider's prices go through ingest into Kafka.
    simulated = asyncio.run(first_update_from(kafka, "sim"))
    assert simulated.game_id.startswith("game-sim-")
    # ...and, sequenced, out of the stream processor.
    live = asyncio.run(first_update_from(kafka, "sim", ODDS_LIVE.name, LiveUpdate))
    assert isinstance(live, LiveUpdate) and live.seq >= 1 and live.trace.ingested_at and live.trace.processed_at
    # ...and pushed to analysts: the dashboard is served, and a socket gets the simulated odds.
    with urllib.request.urlopen(f"{gateway}/", timeout=5) as page:
        assert b"<html" in page.read().lower()
    with urllib.request.urlopen(f"{gateway}/vendor/uPlot.iife.min.js", timeout=5) as chart_library:
        assert chart_library.status == 200
    pushed = asyncio.run(first_frame_from(gateway, "odds"))
    assert pushed["gameId"].startswith("game-sim-") and pushed["trace"]["pushedAt"] >= pushed["trace"]["processedAt"]
    # ...and an update posted to ingest shows on the dashboard, in a real browser.
    posted_update_appears_in_the_dashboard(gateway, ingest, state, tmp_path / "dashboard.png")
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000
    # A script written for the reference works unchanged (no API key, reference body).
    reference = subprocess.run(
        [str(REPO / ".venv" / "bin" / "sportsfeed-reference-feed"), ingest],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert reference.returncode == 0, reference.stdout + reference.stderr
    reference_game = asyncio.run(first_update_from(kafka, "reference")).game_id
    assert reference_game in {"game-2957FB14-2939-4A7C-BC54-331D65EE7D58", "game-CC39FC2A-8CD7-44F7-91EA-585D441BDDAF"}
    # ...and reads it back with the reference's call, now served by persistence.
    latest = wait_until(lambda: read_json(f"{persistence}/feeds?game={reference_game}"), timeout=60,
                        what="the reference feed through GET /feeds")
    assert latest["PK"] == reference_game and {"AWAY", "HOME", "AWAYODDS", "HOMEODDS", "CREATED"} <= set(latest)

    down = run(stack_env, "down")
    assert down.returncode == 0
    assert ("Stopped: provider, push-gateway, stream-processor, persistence, ingest, redis, dynamodb, kafka"
            in down.stdout)
    assert processes_of(state) == []
    assert run(stack_env, "status").returncode == 3


def test_a_second_start_downloads_nothing(stack_env: dict[str, str], tmp_path: Path) -> None:
    assert run(stack_env, "install").returncode == 0  # fills the cache if this machine is new
    # A Maven that records any call and fails: a second start must not need it.
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    calls = tmp_path / "mvn-called"
    (fake_bin / "mvn").write_text(f"#!/bin/sh\necho \"$@\" >> {calls}\nexit 1\n")
    (fake_bin / "mvn").chmod(0o755)
    env = {**stack_env, "PATH": f"{fake_bin}:{stack_env['PATH']}"}

    up = run(env, "up", "--detach")
    assert up.returncode == 0, up.stdout + up.stderr
    assert "using cached jars" in up.stdout
    assert "downloading" not in up.stdout
    assert not calls.exists()
    assert run(env, "down").returncode == 0
    assert processes_of(stack_env["SPORTSFEED_STATE_DIR"]) == []


def test_ctrl_c_stops_everything(stack_env: dict[str, str], tmp_path: Path) -> None:
    up_then_stop(stack_env, tmp_path / "up.log", signal.SIGINT)


def test_ctrl_c_stops_everything_when_started_with_sigint_ignored(stack_env: dict[str, str], tmp_path: Path) -> None:
    """As ``nohup ./sportsfeed up`` or a shell's background job start it: Python then installs no
    SIGINT handler of its own, so only the launcher's own handler makes Ctrl-C stop it."""
    up_then_stop(stack_env, tmp_path / "up.log", signal.SIGINT, ignored_signals=(signal.SIGINT,))


def test_sigterm_stops_everything_as_ctrl_c_does(stack_env: dict[str, str], tmp_path: Path) -> None:
    up_then_stop(stack_env, tmp_path / "up.log", signal.SIGTERM)


def test_a_ctrl_c_test_that_fails_still_ends_in_bounded_time(stack_env: dict[str, str], tmp_path: Path) -> None:
    """The Ctrl-C test, failing (its SIGINT is never sent), run as an inner pytest: it must end, failed,
    within the deadline, and leave no process of its stack behind."""
    output = tmp_path / "inner-pytest.log"
    began = time.monotonic()
    inner = start_inner_pytest(FAILING_CTRL_C, stack_env, output)
    try:
        code = exit_code_within(inner, FAILING_VARIANT_DEADLINE_SECONDS, output, "after it started")
    finally:
        kill_group(inner)
    elapsed = time.monotonic() - began
    text = output.read_text(errors="replace")
    print(f"the failing variant ended with exit code {code} after {elapsed:.1f}s:\n{text}")
    assert code == pytest.ExitCode.TESTS_FAILED, text
    assert "1 failed" in text and "the launcher was still running" in text, text
    assert processes_of(stack_env["SPORTSFEED_STATE_DIR"]) == []


def test_a_taken_port_is_reported_and_nothing_is_left(stack_env: dict[str, str]) -> None:
    port = int(stack_env["SPORTSFEED_KAFKA_PORT"])
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        up = run(stack_env, "up", "--detach")
    assert up.returncode == 1
    assert f"Kafka port {port}" in up.stderr
    assert "SPORTSFEED_KAFKA_PORT" in up.stderr
    assert processes_of(stack_env["SPORTSFEED_STATE_DIR"]) == []
