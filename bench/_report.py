"""Percentiles, the results table and the targets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from _breakdown import PHASE_HELP, PHASES
from _cpu import OTHERS, WAITS, CpuUse

TARGET_P50_MS = 100.0
TARGET_FLOOR_RATIO = 2.0
TARGET_RATE = 25.0


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100) of a non-empty sample."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


@dataclass(frozen=True)
class Row:
    """One line of the table; latencies in milliseconds."""

    name: str
    n: int
    p50: float
    p95: float
    p99: float
    rate: float | None  # sales (or runs) per second, when meaningful
    floor_p50: float | None = (
        None  # the Temporal floor this row is compared with, if not the main one
    )

    @classmethod
    def of(cls, name: str, seconds: Sequence[float], rate: float | None = None) -> Row:
        ms = [s * 1000 for s in seconds]
        return cls(name, len(ms), percentile(ms, 50), percentile(ms, 95), percentile(ms, 99), rate)


@dataclass(frozen=True)
class Target:
    """A goal from the issue with the measured value."""

    text: str
    measured: str
    met: bool


def table(rows: Sequence[Row], pg_floor: Row, temporal_floor: Row) -> str:
    """The results table with each row's p50 as a multiple of both floors."""
    head = (
        f"{'scenario':<50} {'n':>5} {'p50':>8} {'p95':>8} {'p99':>8} {'sales/s':>8}"
        f" {'x PG floor':>11} {'x Temporal floor':>17}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        rate = f"{r.rate:8.1f}" if r.rate is not None else f"{'':>8}"
        lines.append(
            f"{r.name:<50} {r.n:>5} {r.p50:8.1f} {r.p95:8.1f} {r.p99:8.1f} {rate}"
            f" {r.p50 / pg_floor.p50:10.1f}x {r.p50 / (r.floor_p50 or temporal_floor.p50):16.2f}x"
        )
    return "\n".join(lines)


def targets(one_till: Row, many_tills: Row, tills: int, temporal_floor: Row) -> list[Target]:
    """The issue's three targets, judged on the measured rows."""
    ratio = one_till.p50 / temporal_floor.p50
    assert many_tills.rate is not None
    return [
        Target(
            f"p50 checkout at 1 till < {TARGET_P50_MS:.0f} ms",
            f"{one_till.p50:.1f} ms",
            one_till.p50 < TARGET_P50_MS,
        ),
        Target(
            f"p50 at 1 till within {TARGET_FLOOR_RATIO:.0f}x of the Temporal floor",
            f"{ratio:.2f}x ({one_till.p50:.1f} / {temporal_floor.p50:.1f} ms)",
            ratio <= TARGET_FLOOR_RATIO,
        ),
        Target(
            f">= {TARGET_RATE:.0f} sales/s at {tills} tills",
            f"{many_tills.rate:.1f} sales/s",
            many_tills.rate >= TARGET_RATE,
        ),
    ]


def target_lines(results: Sequence[Target]) -> str:
    """PASS/MISS per target."""
    return "\n".join(
        f"  {'PASS' if t.met else 'MISS'}  {t.text:<52} measured {t.measured}" for t in results
    )


def phase_table(phases: Mapping[str, Mapping[str, float]]) -> str:
    """Median milliseconds per phase for each measured set."""
    head = f"{'median ms':<36}" + "".join(f"{p:>10}" for p in PHASES) + f"{'sum':>10}"
    lines = [head, "-" * len(head)]
    for name, med in phases.items():
        lines.append(
            f"{name:<36}"
            + "".join(f"{med[p] * 1000:10.1f}" for p in PHASES)
            + f"{sum(med.values()) * 1000:10.1f}"
        )
    lines += [f"  {p:<9} {PHASE_HELP[p]}" for p in PHASES]
    return "\n".join(lines)


def cpu_table(sections: Sequence[CpuUse]) -> str:
    """CPU milliseconds per sale (or floor run) by process, and cores kept busy, per section."""
    head = f"{'CPU ms per sale / run':<32}" + "".join(f"{u.section:>10}" for u in sections)
    lines = [head, "-" * len(head)]
    for part in sections[0].seconds:
        per_run = (u.seconds[part] * 1000 / u.runs for u in sections)
        lines.append(f"{part:<32}" + "".join(f"{v:10.1f}" for v in per_run))
    ours = [sum(v for k, v in u.seconds.items() if k != OTHERS) for u in sections]
    pairs = list(zip(ours, sections, strict=True))
    lines.append(
        f"{'all of the stack + bench':<32}"
        + "".join(f"{o * 1000 / u.runs:10.1f}" for o, u in pairs)
    )
    lines.append(
        f"{'cores busy: stack + bench':<32}" + "".join(f"{o / u.wall:10.2f}" for o, u in pairs)
    )
    lines.append(
        f"{'cores busy: other processes':<32}"
        + "".join(f"{u.seconds[OTHERS] / u.wall:10.2f}" for u in sections)
    )
    for wait in WAITS:
        lines.append(
            f"{'cores in ' + wait + ' (machine)':<32}"
            + "".join(f"{u.waits[wait] / u.wall:10.2f}" for u in sections)
        )
    return "\n".join(lines)
