"""A pytest run inside a test, on a file the normal run does not collect, to watch how pytest itself ends.

It runs in a process group of its own with its output in a file (no pipe to block on).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .launcher_process import REPO


def start_inner_pytest(test_file: Path, env: dict[str, str], output: Path) -> subprocess.Popen[bytes]:
    with open(output, "wb") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--no-header", "-s", str(test_file)],
            cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def exit_code_within(inner: subprocess.Popen[bytes], timeout: float, output: Path, after: str) -> int:
    """The inner pytest's exit code; AssertionError, with its output's end, if it runs past ``timeout``."""
    try:
        return inner.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"the inner pytest was still running {timeout:.0f}s {after}:\n"
                             f"{output.read_text(errors='replace')[-3000:]}") from None
