"""``./sportsfeed up`` in the foreground, from a test, in a way that can never outlive the test.

The launcher runs in a process group of its own (``start_new_session``), so a signal sent to the
group reaches it as a terminal's Ctrl-C does (``uv``, and the Python process under it). Its output
goes to a file, never to a pipe: nothing in the test can block on a full pipe or on closing it.
Whatever happens in the test, on leaving ``foreground_up`` the group gets SIGTERM, then SIGKILL
after a bounded grace, and ``./sportsfeed down`` stops whatever servers the launcher left.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil
from sportsfeed_devstack.processes import OWNER_ENV
from sportsfeed_devstack.waiting import wait_until

REPO = Path(__file__).resolve().parents[1]
COMMAND = str(REPO / "sportsfeed")
PROMPT = "Press Ctrl-C to stop."
STOPPED_ALL = "Stopped: provider, push-gateway, stream-processor, persistence, ingest, redis, dynamodb, kafka"
GRACE_SECONDS = 30
DOWN_TIMEOUT_SECONDS = 120


@dataclass
class Launcher:
    process: subprocess.Popen[bytes]
    output_file: Path

    @property
    def pgid(self) -> int:
        return self.process.pid  # the leader of its own session and group

    def output(self) -> str:
        return self.output_file.read_text(errors="replace")

    def wait_for_output(self, text: str, timeout: float) -> None:
        def printed() -> bool:
            if text in self.output():
                return True
            if self.process.poll() is not None:
                raise AssertionError(f"the launcher exited with {self.process.returncode}:\n{self.output()[-3000:]}")
            return False

        wait_until(printed, timeout=timeout, what=f"the launcher to print {text!r}")

    def signal_group(self, signum: int) -> None:
        """As a terminal does: the signal goes to every process of the launcher's group."""
        os.killpg(self.pgid, signum)

    def wait(self, timeout: float) -> int:
        """The launcher's exit code; AssertionError if it is still running after ``timeout`` seconds."""
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"the launcher was still running {timeout:.0f}s later:\n{self.output()[-3000:]}"
            ) from None


def kill_group(process: subprocess.Popen[bytes], grace: float = GRACE_SECONDS) -> None:
    """SIGTERM the process group (an orderly stop), then SIGKILL what is left of it after ``grace``."""
    if process.poll() is None:
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    # Even after the leader exited, another member of the group (the Python under uv) may not have.
    _signal_group(process.pid, signal.SIGKILL)
    process.wait(timeout=grace)


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:  # the group is empty
        pass


def _ignoring(signals: tuple[int, ...]):
    def set_up_child() -> None:  # runs in the child, before exec: ignored dispositions survive exec
        for signum in signals:
            signal.signal(signum, signal.SIG_IGN)
    return set_up_child


@contextmanager
def foreground_up(env: dict[str, str], output_file: Path, *, args: Iterable[str] = (),
                  ignored_signals: tuple[int, ...] = ()) -> Iterator[Launcher]:
    """Start ``./sportsfeed up`` in the foreground (with ``ignored_signals`` ignored, as ``nohup``
    or a shell's background job start it); on any way out, kill its group and run ``down``."""
    with open(output_file, "wb") as output:
        process = subprocess.Popen(
            [COMMAND, "up", *args], env=env, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=_ignoring(ignored_signals) if ignored_signals else None,
        )
    try:
        yield Launcher(process, output_file)
    finally:
        kill_group(process)
        subprocess.run([COMMAND, "down"], env=env, capture_output=True, timeout=DOWN_TIMEOUT_SECONDS, check=False)


def processes_of(state_dir: str) -> list[str]:
    """Every live process a stack started: its command line or its owner marker names the state folder."""
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        if process.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        cmdline = " ".join(process.info["cmdline"] or [])
        try:
            owner = process.environ().get(OWNER_ENV, "")
        except (psutil.AccessDenied, psutil.NoSuchProcess):
            owner = ""
        if state_dir in cmdline or owner.startswith(state_dir):
            found.append(cmdline[:120])
    return found


def up_then_stop(env: dict[str, str], output_file: Path, stop_with: int | None, *,
                 ignored_signals: tuple[int, ...] = (), stop_timeout: float = 120) -> None:
    """``./sportsfeed up`` in the foreground; once it prompts, ``stop_with`` goes to its process group
    (as a terminal's Ctrl-C does); it must exit 0 having stopped every process it started."""
    state = env["SPORTSFEED_STATE_DIR"]
    with foreground_up(env, output_file, ignored_signals=ignored_signals) as up:
        up.wait_for_output(PROMPT, timeout=180)
        assert len(processes_of(state)) >= 7
        if stop_with is not None:
            up.signal_group(stop_with)
        assert up.wait(timeout=stop_timeout) == 0, up.output()[-3000:]
        assert STOPPED_ALL in up.output()
        assert processes_of(state) == []
