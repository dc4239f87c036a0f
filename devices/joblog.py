"""A till-local SQLite log of device jobs done, so a retried activity doesn't print twice."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS device_jobs (
    kind TEXT NOT NULL,
    job_id TEXT NOT NULL,
    done_at TEXT NOT NULL,
    bytes_sent INTEGER NOT NULL,
    device TEXT NOT NULL,
    PRIMARY KEY (kind, job_id)
)
"""


@dataclass(frozen=True)
class DoneJob:
    kind: str
    job_id: str
    done_at: str  # ISO 8601, UTC
    bytes_sent: int
    device: str


class DeviceJobLog:
    """Job ids this till's printer and drawer have finished, kept in a small SQLite file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as conn, conn:
            conn.execute(_SCHEMA)

    def find(self, kind: str, job_id: str) -> DoneJob | None:
        """The record of a finished job, or None if it was never done."""
        with closing(self._connect()) as conn:
            row = conn.execute(
                "SELECT kind, job_id, done_at, bytes_sent, device FROM device_jobs"
                " WHERE kind = ? AND job_id = ?",
                (kind, job_id),
            ).fetchone()
        return DoneJob(*row) if row else None

    def record(self, kind: str, job_id: str, bytes_sent: int, device: str) -> None:
        """Remember that a job reached the device; recording the same job again changes nothing."""
        done_at = datetime.now(UTC).isoformat()
        with closing(self._connect()) as conn, conn:
            conn.execute(
                "INSERT OR IGNORE INTO device_jobs VALUES (?, ?, ?, ?, ?)",
                (kind, job_id, done_at, bytes_sent, device),
            )

    def _connect(self) -> sqlite3.Connection:
        # One short-lived connection per call: activities run on pool threads, and sqlite3
        # connections must not be shared across threads.
        return sqlite3.connect(self.path, timeout=10)
