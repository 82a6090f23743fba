"""Load from ``wrk`` (C, from Debian): it leaves the cores to the system under test, where a
Python load generator would take a third of one at 2,000 requests per second."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta
from importlib.resources import as_file, files

from .ingest import Measurement

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def ensure_wrk() -> None:
    """Install Debian's wrk when missing and running as root; otherwise fall back quietly."""
    if wrk_available() or os.geteuid() != 0 or not shutil.which("apt-get"):
        return
    print("Installing wrk (HTTP load generator) from Debian's packages...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
        subprocess.run(command, capture_output=True, env=env, check=False)


def _milliseconds(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * _UNITS_MS[unit]


def parse_report(report: str, batch: int, duration: float) -> Measurement:
    requests = int(re.search(r"(\d+) requests in", report).group(1))  # type: ignore[union-attr]
    refused = re.search(r"Non-2xx or 3xx responses: (\d+)", report)
    errors = int(refused.group(1)) if refused else 0
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", report)
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    p50 = re.search(r"^\s+50%\s+(\S+)", report, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", report, re.MULTILINE)
    return Measurement(
        f"ingest POST /v1/odds (batches of {batch})",
        updates=(requests - errors) * batch,
        seconds=duration,
        errors=errors,
        p50_ms=_milliseconds(p50.group(1)) if p50 else None,
        p99_ms=_milliseconds(p99.group(1)) if p99 else None,
    )


def wrk_load(url: str, api_key: str, duration: float, connections: int, batch: int) -> Measurement:
    """One wrk thread (it needs little CPU), ``connections`` keep-alive connections."""
    base = datetime.now(UTC) - timedelta(days=1)  # far enough back that no ts reaches the future
    with as_file(files("sportsfeed_bench.resources") / "post_odds.lua") as script:
        started = time.perf_counter()
        result = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{int(duration)}s", "--latency", "-s", str(script), url,
             "--", str(batch), api_key, uuid.uuid4().hex[:8], str(int(base.timestamp() * 1000))],
            capture_output=True, text=True, check=True,
        )
        elapsed = time.perf_counter() - started
    return parse_report(result.stdout, batch, min(elapsed, duration))
