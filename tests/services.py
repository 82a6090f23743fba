"""Running a service as a real process for a test, the way it runs in production."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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
