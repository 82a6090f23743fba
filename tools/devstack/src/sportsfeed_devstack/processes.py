"""Server processes the launcher owns: started in their own session, tracked by pid files.

A process is ours only if its command line mentions our state folder, so a
stale pid file can never make us signal somebody else's process.
"""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psutil

STOP_TIMEOUT_SECONDS = 20.0

# Set in every process we start, so ownership can be proven even where the command line
# says nothing about us (``python -m sportsfeed_ingest.main``).
OWNER_ENV = "SPORTSFEED_OWNER"

# Handles of the servers this Python process started, by pid: kept so they are reaped
# through Popen (no zombies, no "still running" warnings). A server started by another
# launcher process (``up --detach``, then ``down``) is found through its pid file instead.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class ManagedProcess:
    name: str
    pid_file: Path
    log_file: Path
    ownership_marker: str  # in our process's command line or its OWNER_ENV variable

    def start(self, argv: list[str], env: dict[str, str] | None = None) -> int:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        env = {**(os.environ if env is None else env), OWNER_ENV: self.ownership_marker}
        with open(self.log_file, "ab") as log:
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Own session: Ctrl-C in the terminal reaches the launcher only, which then
                # stops the servers in order instead of leaving them half-killed.
                start_new_session=True,
                env=env,
            )
        _CHILDREN[process.pid] = process
        self.pid_file.write_text(f"{process.pid}\n")
        return process.pid

    def running(self) -> psutil.Process | None:
        """Our process if it is alive, else ``None`` (a zombie counts as gone)."""
        try:
            pid = int(self.pid_file.read_text().strip())
            child = _CHILDREN.get(pid)
            if child is not None:
                # Started by this launcher: the handle is the proof. (Reading /proc right after
                # Popen can still show our own command line, before the child has exec'd.)
                return psutil.Process(pid) if child.poll() is None else None
            process = psutil.Process(pid)
            if process.status() == psutil.STATUS_ZOMBIE:
                _reap(pid)
                return None
            if not owned_by(process, self.ownership_marker):
                return None
            return process
        except (FileNotFoundError, ValueError, psutil.NoSuchProcess, psutil.AccessDenied):
            return None

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> bool:
        """SIGTERM the process group, SIGKILL what is left after ``timeout``. True if it was running."""
        process = self.running()
        if process is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        group = [process, *process.children(recursive=True)]
        _signal_group(process.pid, signal.SIGTERM)
        _gone, alive = psutil.wait_procs(group, timeout=timeout)
        if alive:
            _signal_group(process.pid, signal.SIGKILL)
            for leftover in alive:
                leftover.kill()
            psutil.wait_procs(alive, timeout=5)
        _reap(process.pid)
        self.pid_file.unlink(missing_ok=True)
        return True

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log written)"


def owned_by(process: psutil.Process, marker: str) -> bool:
    """True if ``process`` was started with ``marker`` (checked in its command line, then its environment)."""
    if marker in " ".join(process.cmdline()):
        return True
    return process.environ().get(OWNER_ENV) == marker


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _reap(pid: int) -> None:
    """Collect the exit status if the process is our child, so no zombie is left behind."""
    child = _CHILDREN.pop(pid, None)
    if child is not None:
        child.poll()
