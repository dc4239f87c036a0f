"""CPU seconds used by each part of the stack, and by everything else on the machine, per scenario."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import psutil

OTHERS = "other processes"


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
            try:
                total += _own_seconds(child)
            except psutil.NoSuchProcess:
                pass
        return total
    except psutil.NoSuchProcess:
        return 0.0


def _machine_busy_seconds() -> float:
    t = psutil.cpu_times()
    return t.user + t.nice + t.system + t.irq + t.softirq


def snapshot(groups: Mapping[str, Iterable[int]]) -> dict[str, float]:
    """CPU seconds so far of each named group of process trees, plus the whole machine's busy time."""
    out = {name: sum(_tree_seconds(pid) for pid in pids) for name, pids in groups.items()}
    out["bench (this process)"] = _own_seconds(psutil.Process(os.getpid()))
    out["_machine"] = _machine_busy_seconds()
    return out


def usage(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, float]:
    """CPU seconds each group used between two snapshots; the rest of the machine as OTHERS."""
    used = {k: after[k] - before[k] for k in before if k != "_machine"}
    machine = after["_machine"] - before["_machine"]
    used[OTHERS] = max(0.0, machine - sum(used.values()))
    return used


@dataclass(frozen=True)
class CpuUse:
    """CPU seconds per part of the stack (and the rest of the machine) during one measured section."""

    section: str
    seconds: dict[str, float]
    runs: int
    wall: float


class CpuMeter:
    """Started before a section; `done` returns what each process used during it."""

    def __init__(self, groups: Mapping[str, Iterable[int]]) -> None:
        self.groups = {k: list(v) for k, v in groups.items()}
        self.before = snapshot(self.groups)
        self.t0 = time.perf_counter()

    def done(self, section: str, runs: int) -> CpuUse:
        wall = time.perf_counter() - self.t0
        return CpuUse(section, usage(self.before, snapshot(self.groups)), runs, wall)
