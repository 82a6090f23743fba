"""The fault suite: the whole stack under a steady load while one of its servers is broken on purpose.

In every scenario, each update ingest answered 202 must reach every subscribed analyst exactly once,
in seq order, live or by resume, and storage must catch up: each one in DynamoDB exactly once, with
the seq it was pushed with. The report of the run (one
line per scenario) is printed at the end of the session and written to test-reports/.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
from collections.abc import Awaitable, Callable

import pytest
from sportsfeed_devstack.applications import SIMULATED_PROVIDER, LocalProviderKeys
from sportsfeed_devstack.servers import Server
from sportsfeed_devstack.stack import Stack
from sportsfeed_devstack.waiting import WaitTimeout, wait_until_async

from .conftest import REPORTS
from .harness import FaultReport, Providers, ResumingAnalyst, stored_odds

pytestmark = [pytest.mark.faults, pytest.mark.timeout(420)]

LANES = 4  # providers
GAMES_PER_LANE = 25
STEPS_PER_SECOND = 5.0  # each provider posts all its games this often: 500 updates/s in all
ANALYSTS = 2
FREEZE_SECONDS = 10.0
SETTLE_SECONDS = 180  # after the load stops, for every accepted update to be stored and delivered

Fault = Callable[[Stack], Awaitable[None]]


def server(stack: Stack, name: str) -> Server:
    return next(candidate for candidate in stack.servers if candidate.name == name)


def signal_group(stack: Stack, name: str, signum: int) -> None:
    process = server(stack, name).process.running()
    assert process is not None, f"{name} is not running"
    os.killpg(process.pid, signum)  # the launcher starts each server in its own process group


async def restart_missing(stack: Stack) -> None:
    """Start again whatever is not running, and wait until each answers (blocking: off the loop)."""
    await asyncio.to_thread(stack.start)


def kill_9(name: str) -> Fault:
    async def fault(stack: Stack) -> None:
        signal_group(stack, name, signal.SIGKILL)

        async def gone() -> bool:
            return server(stack, name).process.running() is None

        await wait_until_async(gone, timeout=30, what=f"{name} to die")
        await restart_missing(stack)

    return fault


def restart(name: str) -> Fault:
    async def fault(stack: Stack) -> None:
        await asyncio.to_thread(server(stack, name).process.stop)
        await restart_missing(stack)

    return fault


async def freeze_kafka(stack: Stack) -> None:
    signal_group(stack, "kafka", signal.SIGSTOP)
    try:
        await asyncio.sleep(FREEZE_SECONDS)  # the fault itself: the broker frozen this long
    finally:
        signal_group(stack, "kafka", signal.SIGCONT)


SCENARIOS: dict[str, Fault] = {
    "kill -9 ingest": kill_9("ingest"),
    "kill -9 persistence": kill_9("persistence"),
    "kill -9 stream-processor": kill_9("stream-processor"),
    "kill -9 push-gateway": kill_9("push-gateway"),
    "Kafka broker restart": restart("kafka"),
    "Redis restart": restart("redis"),
    "DynamoDB Local restart": restart("dynamodb"),
    f"Kafka frozen {FREEZE_SECONDS:g} s (SIGSTOP, SIGCONT)": freeze_kafka,
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_nothing_accepted_is_lost_or_duplicated(fault_stack: Stack, scenario: str) -> None:
    config = fault_stack.config
    tag = re.sub(r"[^a-z0-9]+", "-", scenario.lower()).strip("-")
    providers = Providers(config.ingest_url, LocalProviderKeys(config.state_dir).key_for(SIMULATED_PROVIDER),
                          f"{tag}-{os.getpid()}", LANES, GAMES_PER_LANE)
    analysts = [ResumingAnalyst(config.gateway_url, f"fault-{tag}-{n}", providers.games) for n in range(ANALYSTS)]
    for analyst in analysts:
        analyst.start()
    load: asyncio.Task[None] | None = None
    try:
        for analyst in analysts:
            await asyncio.wait_for(analyst.subscribed.wait(), timeout=30)
        load = asyncio.create_task(providers.run(STEPS_PER_SECOND))
        await _accepted_at_least(providers, 200, "the load to flow before the fault")
        await SCENARIOS[scenario](fault_stack)
        after_fault = providers.accepted_count
        await _accepted_at_least(providers, after_fault + 200, "the load to flow again after the fault")
        providers.stop()
        await load
        await _settled(fault_stack, providers, analysts)
    finally:
        providers.stop()
        if load is not None:
            await asyncio.gather(load, return_exceptions=True)
        for analyst in analysts:
            await analyst.stop()
    report = FaultReport.of(scenario, providers, await stored_odds(config, providers.games), analysts)
    REPORTS.append(report)
    assert (report.lost, report.duplicates, report.out_of_order, report.wrong_seq_stored) == (0, 0, 0, 0), report
    assert report.accepted > 0 and report.delivered == report.accepted == report.stored


async def _accepted_at_least(providers: Providers, count: int, what: str) -> None:
    async def reached() -> bool:
        return providers.accepted_count >= count

    await wait_until_async(reached, timeout=120, what=what, interval=0.1)


async def _settled(stack: Stack, providers: Providers, analysts: list[ResumingAnalyst]) -> None:
    """Until every accepted update is in the table and at every analyst; on timeout the report says
    what is missing."""
    accepted = providers.accepted

    async def complete() -> bool:
        if not all(analyst.has_all(accepted) for analyst in analysts):
            return False
        stored = await stored_odds(stack.config, providers.games)
        return all(len({i for i, _ in stored[game]}) >= len(ids) for game, ids in accepted.items())

    try:
        await wait_until_async(complete, timeout=SETTLE_SECONDS, what="every accepted update stored and delivered",
                               interval=0.5)
    except WaitTimeout:
        pass  # the report below names what is missing
