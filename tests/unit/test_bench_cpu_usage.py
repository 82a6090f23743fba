"""The bench's CPU accounting: real processes, each counted once, and the machine's remainder."""

from __future__ import annotations

import subprocess
import sys

import psutil
import pytest
from sportsfeed_bench.cpu_usage import OTHERS, CpuAccount, CpuUsage

BUSY_CHILD = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\nprint('done', flush=True)"


@pytest.fixture
def busy_child():
    """A child of this process that burns 0.3 s of CPU, then waits to be stopped."""
    child = subprocess.Popen([sys.executable, "-c", BUSY_CHILD + "\nimport sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    with child:  # closes its pipes
        yield child
        child.kill()


def test_a_child_is_counted_in_its_own_group_not_again_in_its_parents(busy_child) -> None:
    account = CpuAccount({"worker": [psutil.Process(busy_child.pid)], "bench": [psutil.Process()]})
    account.start()
    assert busy_child.stdout.readline().strip() == "done"  # its CPU is spent once this arrives
    usage = account.usage()
    assert 0.2 <= usage.by_group["worker"] <= 1.0
    # The parent is waiting on a pipe, so its own share stays far below the child's.
    assert usage.by_group["bench"] < usage.by_group["worker"]
    assert set(usage.by_group) == {"worker", "bench", OTHERS}


def test_a_group_whose_process_is_gone_counts_nothing() -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    process = psutil.Process(gone.pid)
    gone.wait()
    account = CpuAccount({"gone": [process]})
    account.start()
    assert account.usage().by_group["gone"] == 0.0


def test_the_summary_gives_each_group_per_update_and_the_cores_a_thousand_per_second_needs() -> None:
    usage = CpuUsage({"kafka": 6.0, "persistence": 3.0, OTHERS: 1.0}, seconds=20.0, cores=2)
    lines = usage.summary(updates=10_000)
    assert lines[0].startswith("kafka") and "30% of a core, 0.60 ms CPU per update" in lines[0]
    assert lines[-1].startswith("all together") and "0.50 of 2 cores busy, 1.00 ms CPU per update" in lines[-1]
    assert "1,000 updates/s would need 1.00 cores" in lines[-1]
    assert usage.to_json()["cpu_seconds"]["kafka"] == 6.0


def test_cpu_per_update_of_some_groups_together_leaves_the_others_out() -> None:
    usage = CpuUsage({"ingest": 1.0, "push-gateway": 2.0, "kafka": 6.0, OTHERS: 1.0}, seconds=20.0, cores=2)
    assert usage.ms_per_update(10_000, "ingest", "push-gateway") == pytest.approx(0.3)
    assert usage.ms_per_update(10_000) == pytest.approx(1.0)  # none named: the whole machine
