"""A test that takes the session's servers and then blocks until it is stopped from outside.

Not collected by a normal run (the file name does not start with test_): test_pytest_sigterm.py
runs it as an inner pytest and sends that pytest SIGTERM. It records what it started in the file
named by HOLDS_THE_SERVERS_RECORD, written only once the servers answer.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path


def test_takes_the_servers_then_blocks(servers) -> None:
    record = Path(os.environ["HOLDS_THE_SERVERS_RECORD"])
    written = record.with_suffix(".partial")
    written.write_text(json.dumps({"redis_url": servers.redis_url, "origin": servers.origin, "pids": servers.pids}))
    written.rename(record)  # whole or absent, for the reader
    threading.Event().wait()  # until the signal: nothing will set it
