"""test_ctrl_c_stops_everything, broken on purpose: the SIGINT is never sent, so the launcher never
stops and the test fails. Not collected by a normal run (the file name does not start with test_):
test_local_stack.py runs it as an inner pytest, with the stack's ports and state folder in the
environment, to show that such a failure still ends, in bounded time, with nothing left running.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..launcher_process import up_then_stop

SECONDS_TO_STOP = 10


def test_ctrl_c_stops_everything_but_the_signal_is_never_sent(tmp_path: Path) -> None:
    up_then_stop(dict(os.environ), tmp_path / "up.log", None, stop_timeout=SECONDS_TO_STOP)
