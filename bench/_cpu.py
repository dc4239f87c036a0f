"""CPU seconds used by each part of the stack, and by everything else on the machine."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import psutil

OTHERS = "other processes"
BENCH = "bench (this process)"
WAITS = ("iowait", "steal")  # machine-wide, in core-seconds: waiting on disk, taken by the host


@dataclass(frozen=True)
class Snapshot:
    """Cumulative CPU seconds per process group, and the machine's busy and waiting time."""

    groups: dict[str, float]
    busy: float
    waits: dict[str, float]


@dataclass(frozen=True)
class CpuUse:
    """CPU seconds per part of the stack (and the rest of the machine) during one section."""

    section: str
    seconds: dict[str, float]  # per process group, OTHERS included
    waits: dict[str, float]  # machine-wide iowait and steal
    runs: int
    wall: float


def _own_seconds(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return t.user + t.system


def _tree_seconds(pid: int) -> float:
    """A process, its live children, and the children it has already reaped."""
    try:
        root = psutil.Process(pid)
        t = root.cpu_times()
        total = t.user + t.system + t.children_user + t.children_system
        for child in root.children(recursive=True):
            with contextlib.suppress(psutil.NoSuchProcess):
                total += _own_seconds(child)
        return total
    except psutil.NoSuchProcess:
        return 0.0


def snapshot(groups: Mapping[str, Iterable[int]]) -> Snapshot:
    """CPU seconds so far of each group of process trees and of this process; machine totals."""
    per_group = {name: sum(_tree_seconds(pid) for pid in pids) for name, pids in groups.items()}
    per_group[BENCH] = _own_seconds(psutil.Process(os.getpid()))
    t = psutil.cpu_times()
    busy = t.user + t.nice + t.system + t.irq + t.softirq
    return Snapshot(per_group, busy, {w: getattr(t, w) for w in WAITS})


class CpuMeter:
    """Started before a section; `done` returns what each process used during it."""

    def __init__(self, groups: Mapping[str, Iterable[int]]) -> None:
        self.groups = {k: list(v) for k, v in groups.items()}
        self.before = snapshot(self.groups)
        self.t0 = time.perf_counter()

    def done(self, section: str, runs: int) -> CpuUse:
        """CPU each group used since the start; whatever else kept the machine busy is OTHERS."""
        wall = time.perf_counter() - self.t0
        after = snapshot(self.groups)
        used = {k: after.groups[k] - self.before.groups[k] for k in self.before.groups}
        used[OTHERS] = max(0.0, after.busy - self.before.busy - sum(used.values()))
        waits = {w: after.waits[w] - self.before.waits[w] for w in WAITS}
        return CpuUse(section, used, waits, runs, wall)


# ---- tillflow's own CPU apart from the Temporal server's (issue 21) ----------------------

TEMPORAL_SERVER = "Temporal dev server"  # the Temporal server's group in Stack.process_groups


def ms_per_run(use: CpuUse, parts: Iterable[str]) -> float:
    """CPU milliseconds per sale (or floor run) of the given process groups together."""
    return sum(use.seconds.get(p, 0.0) for p in parts) * 1000 / use.runs


def own_parts(use: CpuUse) -> list[str]:
    """The process groups that are tillflow's own (API, workers, device workers, PostgreSQL):
    all but the Temporal server, the benchmark process and the rest of the machine."""
    return [p for p in use.seconds if p not in (TEMPORAL_SERVER, BENCH, OTHERS)]
