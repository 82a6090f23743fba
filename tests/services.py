"""Running a service as a real process for a test, the way it runs in production."""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition
from sportsfeed_common.topics import partition_counts
from sportsfeed_devstack.applications import http_ok
from sportsfeed_devstack.waiting import wait_until


def spawn_service(module: str, env: dict[str, str], log: Path, url: str | None = None,
                  timeout: float = 60) -> subprocess.Popen[bytes]:
    """Start ``python -m module`` with its output appended to ``log``; if ``url`` is given, return only
    once its ``/readyz`` answers 200 (an error, with the log's end, if it exits first)."""
    with open(log, "ab") as output:
        process = subprocess.Popen([sys.executable, "-m", module], env=env, stdout=output, stderr=subprocess.STDOUT)
    if url is None:
        return process
    try:
        def ready() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"{module} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            return http_ok(f"{url}/readyz")

        wait_until(ready, timeout=timeout, what=f"{module} to be ready")
    except BaseException:
        stop_process(process)
        raise
    return process


@contextmanager
def service_process(module: str, env: dict[str, str], url: str, log: Path,
                    timeout: float = 60) -> Iterator[subprocess.Popen[bytes]]:
    """``spawn_service``, stopped with SIGTERM at the end (also when the test fails or is interrupted)."""
    process = spawn_service(module, env, log, url, timeout)
    try:
        yield process
    finally:
        stop_process(process)


def stop_process(process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Graceful stop (SIGTERM, as Kubernetes sends it); SIGKILL only if it does not exit in time."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def caught_up_group(bootstrap: str, topics: list[str]) -> str:
    """A new consumer group that has, as far as Kafka knows, consumed everything on ``topics`` so far.

    A service started with it handles only what the test produces from now on.
    """
    group = f"it-{uuid.uuid4().hex[:8]}"
    counts = await partition_counts(bootstrap, topics)
    partitions = [TopicPartition(topic, partition) for topic, count in counts.items() for partition in range(count)]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        await consumer.commit(dict(ends))
    finally:
        await consumer.stop()
    return group
