"""Where the CPU went during a measuring window, read from ``/proc`` (Linux only).

The machine is small (2 cores) and the load generator, the servers, PostgreSQL and Redis all
share it, so a number is only meaningful next to who used the cores. A :class:`CpuProbe` takes
named sets of processes (by process group, or by pid with their children) and reports, per set,
the cores it used on average over the window and how long its threads sat runnable waiting for a
core (``<name>_wait``, from ``schedstat``: a server that waits a lot was starved by others, not
slow), plus the whole machine's busy cores.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
PROC = Path("/proc")


@dataclass(frozen=True)
class ProcessStat:
    pid: int
    ppid: int
    pgrp: int
    ticks: int
    wait_ns: int


# Whether a process belongs to a set.
Member = Callable[[ProcessStat], bool]


def _stats() -> list[ProcessStat]:
    found: list[ProcessStat] = []
    for entry in PROC.iterdir() if PROC.is_dir() else ():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: split after the last ')'.
        fields = text[text.rindex(")") + 2 :].split()
        found.append(
            ProcessStat(
                pid=int(entry.name),
                ppid=int(fields[1]),
                pgrp=int(fields[2]),
                ticks=int(fields[11]) + int(fields[12]),
                wait_ns=_run_queue_wait(entry),
            )
        )
    return found


def _run_queue_wait(process: Path) -> int:
    """Nanoseconds the process's threads spent runnable but not running."""
    total = 0
    try:
        for task in (process / "task").iterdir():
            total += int((task / "schedstat").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        pass
    return total


def _machine_busy() -> tuple[int, int]:
    """(busy, total) jiffies of all cores since boot."""
    try:
        first = (PROC / "stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return 0, 0
    values = [int(v) for v in first]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return sum(values) - idle, sum(values)


def in_groups(pgids: Iterable[int]) -> Member:
    wanted = set(pgids)
    return lambda stat: stat.pgrp in wanted


def with_children(pids: Iterable[int]) -> Member:
    wanted = set(pids)
    return lambda stat: stat.pid in wanted or stat.ppid in wanted


def find_pids(marker: str) -> list[int]:
    """Processes whose command line contains ``marker`` (e.g. a data directory)."""
    pids: list[int] = []
    for entry in PROC.iterdir() if PROC.is_dir() else ():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline:
            pids.append(int(entry.name))
    return pids


@dataclass
class CpuProbe:
    """Cores used per named set of processes between :meth:`start` and :meth:`stop`."""

    sets: dict[str, Member] = field(default_factory=dict)
    _start: dict[str, tuple[int, int]] = field(default_factory=dict, repr=False)
    _machine: tuple[int, int] = (0, 0)
    _started_at: float = 0.0

    def _sample(self) -> dict[str, tuple[int, int]]:
        stats = _stats()
        sample: dict[str, tuple[int, int]] = {}
        for name, member in self.sets.items():
            mine = [s for s in stats if member(s)]
            sample[name] = (sum(s.ticks for s in mine), sum(s.wait_ns for s in mine))
        return sample

    def start(self) -> None:
        self._start = self._sample()
        self._machine = _machine_busy()
        self._started_at = time.monotonic()

    def stop(self) -> dict[str, float]:
        """Average cores used per set (1.0 = one core fully busy), and ``machine``."""
        end = self._sample()
        busy, total = _machine_busy()
        seconds = max(time.monotonic() - self._started_at, 1e-6)
        used: dict[str, float] = {}
        for name in self.sets:
            ticks, wait = end[name]
            ticks0, wait0 = self._start.get(name, (0, 0))
            used[name] = round((ticks - ticks0) / _TICKS / seconds, 2)
            used[f"{name}_wait"] = round((wait - wait0) / 1e9 / seconds, 2)
        cores = os.cpu_count() or 1
        spent = total - self._machine[1]
        used["machine"] = round(cores * (busy - self._machine[0]) / spent, 2) if spent else 0.0
        return used


def reference_loop_ms(rounds: int = 5) -> float:
    """How fast this machine runs Python right now: the best of ``rounds`` timings of one fixed
    pure-Python loop, in ms (lower is faster). A shared host's speed drifts, by tens of percent
    from one minute to the next on the machines seen here, so a benchmark's numbers are only
    comparable with another run's next to this one."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        sum(i * i for i in range(300_000))
        best = min(best, time.perf_counter() - started)
    return round(best * 1000, 1)
