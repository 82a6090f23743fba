"""Where the machine's CPU went during a measured phase: each server of the stack, the analysts and
the bench itself (the providers' load), as CPU time per update and as a share of one core.

A latency figure means little without the load on the machine that produced it: on a small machine
the whole stack, the load generator and the analysts share the cores, and once they are busy every
hop waits for a turn. CPU time per update, summed over every process, also says how many cores a
given rate needs at all.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

import psutil

OTHERS = "other processes"  # whatever else ran on the machine meanwhile


def _group_seconds(processes: Iterable[psutil.Process], claimed: set[int]) -> dict[int, float]:
    """CPU seconds so far of each process and each of its descendants, by pid, leaving out the pids
    an earlier group has ``claimed`` (and claiming these)."""
    seconds: dict[int, float] = {}
    for process in processes:
        try:
            family = [process, *process.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        for member in family:
            if member.pid in claimed:
                continue
            claimed.add(member.pid)
            try:
                times = member.cpu_times()
            except psutil.NoSuchProcess:
                continue
            seconds[member.pid] = times.user + times.system
    return seconds


@dataclass(frozen=True)
class CpuUsage:
    """CPU seconds of each named group over ``seconds`` of wall time, on a machine of ``cores``."""

    by_group: dict[str, float]
    seconds: float
    cores: int

    def share_of_a_core(self, group: str) -> float:
        return self.by_group[group] / self.seconds if self.seconds else 0.0

    @property
    def busy_cores(self) -> float:
        return sum(self.by_group.values()) / self.seconds if self.seconds else 0.0

    def ms_per_update(self, updates: int, *groups: str) -> float:
        """CPU ms per update of the named groups together; of the whole machine when none is named."""
        spent = sum(self.by_group[group] for group in groups) if groups else sum(self.by_group.values())
        return spent * 1000 / updates if updates else float("nan")

    def summary(self, updates: int) -> list[str]:
        """Each group, busiest first, then what the rate would need in cores."""
        lines = [f"{name:<20} {self.share_of_a_core(name):4.0%} of a core, "
                 f"{self.ms_per_update(updates, name):.2f} ms CPU per update"
                 for name in sorted(self.by_group, key=self.by_group.__getitem__, reverse=True)]
        per_update = self.ms_per_update(updates)
        lines.append(f"{'all together':<20} {self.busy_cores:.2f} of {self.cores} cores busy, "
                     f"{per_update:.2f} ms CPU per update: at that cost 1,000 updates/s "
                     f"would need {per_update:.2f} cores")
        return lines

    def to_json(self) -> dict:
        return {"cpu_seconds": self.by_group, "seconds": self.seconds, "cores": self.cores}


class CpuAccount:
    """Snapshots of named process groups' CPU time; ``usage`` is what they spent since ``start``.

    A process belongs to the first group that holds it or an ancestor of it, so a group listed last
    (the bench itself, say) does not count again the processes it started. Whatever the machine
    spent beyond the groups is counted as :data:`OTHERS`, so the total is the whole machine's.
    """

    def __init__(self, groups: dict[str, list[psutil.Process]]) -> None:
        self._groups = groups
        self._start: dict[str, dict[int, float]] = {}
        self._machine_start = 0.0
        self._started = 0.0

    def start(self) -> None:
        claimed: set[int] = set()
        self._start = {name: _group_seconds(processes, claimed) for name, processes in self._groups.items()}
        self._machine_start, self._started = _machine_busy_seconds(), time.monotonic()

    def usage(self) -> CpuUsage:
        seconds = time.monotonic() - self._started
        by_group: dict[str, float] = {}
        claimed: set[int] = set()
        for name, processes in self._groups.items():
            before = self._start.get(name, {})
            # A process that started meanwhile counts whole; one that ended counts for nothing.
            by_group[name] = sum(max(0.0, now - before.get(pid, 0.0))
                                 for pid, now in _group_seconds(processes, claimed).items())
        machine = _machine_busy_seconds() - self._machine_start
        by_group[OTHERS] = max(0.0, machine - sum(by_group.values()))
        return CpuUsage(by_group, seconds, psutil.cpu_count() or 1)


def _machine_busy_seconds() -> float:
    times = psutil.cpu_times()
    return times.user + times.system + getattr(times, "nice", 0.0) + getattr(times, "irq", 0.0) \
        + getattr(times, "softirq", 0.0)
