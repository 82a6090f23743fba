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


@contextmanager
def service_process(module: str, env: dict[str, str], url: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``python -m module``, wait until ``/readyz`` answers 200, stop it with SIGTERM at the end."""
    with open(log, "wb") as output:
        process = subprocess.Popen([sys.executable, "-m", module], env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        def ready() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"{module} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            return http_ok(f"{url}/readyz")

        wait_until(ready, timeout=60, what=f"{module} to be ready")
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
