"""The till's local SQLite: offline sales (committed with fsync before the receipt prints), card
sales the central system never answered, the catalogue snapshot, cashiers who may sign in offline,
and receipts waiting for the printer."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    client_sale_id TEXT NOT NULL UNIQUE,
    sold_at TEXT NOT NULL,
    body TEXT NOT NULL,             -- what is uploaded: lines, tenders, total; never a card number
    sale TEXT NOT NULL,             -- the answer the till page got (double taps, reprints)
    card_total INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'waiting',  -- waiting | applied | flagged | rejected
    central_sale_id TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL DEFAULT '',
    uploaded_at TEXT
);
CREATE INDEX IF NOT EXISTS ix_entries_status ON entries (status, seq);
CREATE TABLE IF NOT EXISTS snapshot (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    fetched_at TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cashiers (
    staff_code TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    pin_hash TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
-- The central PIN fingerprint each cached cashier had when they last signed in here online (the
-- snapshot lists the current ones: a changed PIN or a deactivated person is forgotten).
CREATE TABLE IF NOT EXISTS cashier_fingerprints (
    staff_code TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL
);
-- Sales with a card whose central answer never came: the card may have been charged, so the sale
-- stays open (never sold offline) until the central system answers for it.
CREATE TABLE IF NOT EXISTS unanswered (
    client_sale_id TEXT PRIMARY KEY,
    since TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT ''
);
-- The till's shift as the central system last answered for it (its number is what a close taken
-- offline names).
CREATE TABLE IF NOT EXISTS shift_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n INTEGER NOT NULL,
    status TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
-- Customers the till looked up while online, with the loyalty points balance it last saw: what it
-- shows when offline. Names and masked contacts only; a look-up is kept by its query's hash.
CREATE TABLE IF NOT EXISTS known_customers (
    customer_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    email_masked TEXT NOT NULL DEFAULT '',
    phone_masked TEXT NOT NULL DEFAULT '',
    points_balance INTEGER NOT NULL DEFAULT 0,
    seen_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS customer_lookups (
    q_hash TEXT PRIMARY KEY,
    customer_ids TEXT NOT NULL,
    seen_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS print_queue (
    job_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    data BLOB NOT NULL,
    queued_at TEXT NOT NULL,
    PRIMARY KEY (kind, job_id)
);
"""

WAITING, APPLIED, FLAGGED, REJECTED = "waiting", "applied", "flagged", "rejected"
# A blind shift close taken offline is an entry of its own kind, journaled after the sales before
# it and uploaded with them; its id starts so, and its body says `"kind": "shift_close"`.
SHIFT_CLOSE_PREFIX = "shift-close:"
SHIFT_CLOSE_KIND = "shift_close"


@dataclass(frozen=True)
class StoredEntry:
    seq: int
    client_sale_id: str
    sold_at: datetime
    body: dict[str, Any]
    sale: dict[str, Any]
    card_total: int
    status: str
    central_sale_id: str
    message: str


@dataclass(frozen=True)
class CachedCashier:
    staff_code: str
    username: str
    display_name: str
    role: str
    pin_hash: str


@dataclass(frozen=True)
class KnownCustomer:
    customer_id: int
    name: str
    email_masked: str
    phone_masked: str
    points_balance: int
    seen_at: datetime


KNOWN_CUSTOMERS_KEPT = 2000  # the cache stays small: the customers seen most recently


def lookup_hash(q: str) -> str:
    """What the till keeps of a customer look-up's query (an email or phone is never stored)."""
    return hashlib.sha256(" ".join(q.lower().split()).encode()).hexdigest()


@dataclass(frozen=True)
class QueuedJob:
    job_id: str
    kind: str
    data: bytes


class Journal:
    """One SQLite file per till; every write is its own transaction, synced to disk on commit."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with closing(sqlite3.connect(self.path, timeout=10)) as conn:
            # WAL is a property of the file: set once. A reader never blocks the writer of a sale.
            conn.execute("PRAGMA journal_mode=WAL")
        with self._tx() as conn:
            conn.executescript(_SCHEMA)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        # A short-lived connection per call: the agent calls from worker threads, and sqlite3
        # connections must not be shared across threads. The lock keeps writers in turn.
        with self._lock, closing(sqlite3.connect(self.path, timeout=10)) as conn:
            # FULL: a commit is fsync'd before it returns, so a sale survives a power cut the
            # moment its receipt starts printing.
            conn.execute("PRAGMA synchronous=FULL")
            with conn:
                yield conn

    # ---- offline sales -------------------------------------------------------------------

    def add_sale(
        self,
        client_sale_id: str,
        sold_at: datetime,
        body: dict[str, Any],
        sale: dict[str, Any],
        card_total: int,
    ) -> bool:
        """Keep an offline sale durably; False when this client sale id is in the journal
        already."""
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO entries (client_sale_id, sold_at, body, sale, card_total)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    client_sale_id,
                    sold_at.isoformat(),
                    json.dumps(body),
                    json.dumps(sale),
                    card_total,
                ),
            )
            return cur.rowcount == 1

    def entry(self, client_or_central_id: str) -> StoredEntry | None:
        """An entry by its client sale id, or by the central sale number it got on upload."""
        with self._tx() as conn:
            row = conn.execute(
                f"SELECT {_ENTRY_COLUMNS} FROM entries"
                " WHERE client_sale_id = ? OR central_sale_id = ?"
                " ORDER BY seq LIMIT 1",
                (client_or_central_id, client_or_central_id),
            ).fetchone()
        return _entry(row) if row else None

    def waiting(self, limit: int) -> list[StoredEntry]:
        """The oldest entries not yet confirmed by the central system."""
        with self._tx() as conn:
            rows = conn.execute(
                f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE status = ? ORDER BY seq LIMIT ?",
                (WAITING, limit),
            ).fetchall()
        return [_entry(r) for r in rows]

    def counts(self) -> dict[str, int]:
        with self._tx() as conn:
            rows = conn.execute("SELECT status, COUNT(*) FROM entries GROUP BY status").fetchall()
        return {status: n for status, n in rows}

    def stored_cards(self) -> tuple[int, datetime | None]:
        """Card money held on this till and not yet confirmed centrally, and when the oldest was
        taken."""
        with self._tx() as conn:
            total, first = conn.execute(
                "SELECT COALESCE(SUM(card_total), 0), MIN(sold_at) FROM entries"
                " WHERE status = ? AND card_total > 0",
                (WAITING,),
            ).fetchone()
        return int(total), datetime.fromisoformat(first) if first else None

    def settle_entry(
        self, client_sale_id: str, status: str, central_sale_id: str, message: str
    ) -> None:
        """The central system confirmed (or rejected) an entry: it no longer waits for upload."""
        with self._tx() as conn:
            conn.execute(
                "UPDATE entries SET status = ?, central_sale_id = ?, message = ?, uploaded_at = ?"
                " WHERE client_sale_id = ? AND status = ?",
                (
                    status,
                    central_sale_id,
                    message,
                    datetime.now(UTC).isoformat(),
                    client_sale_id,
                    WAITING,
                ),
            )

    # ---- shift closes taken offline --------------------------------------------------------

    def add_shift_close(
        self,
        client_id: str,
        n: int,
        closed_at: datetime,
        body: dict[str, Any],
        answer: dict[str, Any],
    ) -> StoredEntry:
        """Journal a blind close after every sale in the journal; when a close of the same shift
        (or, the shift unknown, one still waiting) is journaled already, that one, unchanged."""
        with self._tx() as conn:
            for row in conn.execute(
                f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE client_sale_id LIKE ? ORDER BY seq",
                (SHIFT_CLOSE_PREFIX + "%",),
            ).fetchall():
                found = _entry(row)
                if found.body.get("kind") != SHIFT_CLOSE_KIND:
                    continue
                if (n and found.body.get("n") == n) or (not n and found.status == WAITING):
                    return found
            conn.execute(
                "INSERT INTO entries (client_sale_id, sold_at, body, sale, card_total)"
                " VALUES (?, ?, ?, ?, 0)",
                (client_id, closed_at.isoformat(), json.dumps(body), json.dumps(answer)),
            )
            row = conn.execute(
                f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE client_sale_id = ?", (client_id,)
            ).fetchone()
        return _entry(row)

    def waiting_shift_close(self) -> StoredEntry | None:
        """The shift close journaled offline and not yet confirmed by the central system."""
        with self._tx() as conn:
            rows = conn.execute(
                f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE client_sale_id LIKE ? AND status = ?"
                " ORDER BY seq",
                (SHIFT_CLOSE_PREFIX + "%", WAITING),
            ).fetchall()
        found = [e for e in map(_entry, rows) if e.body.get("kind") == SHIFT_CLOSE_KIND]
        return found[0] if found else None

    def remember_shift(self, n: int, status: str) -> None:
        """The till's shift as the central system just answered for it."""
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO shift_state (id, n, status, updated_at) VALUES (1, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET n = excluded.n, status = excluded.status,"
                " updated_at = excluded.updated_at",
                (n, status, datetime.now(UTC).isoformat()),
            )

    def last_shift(self) -> tuple[int, str] | None:
        """The shift number and state the central system last gave; None if never."""
        with self._tx() as conn:
            row = conn.execute("SELECT n, status FROM shift_state WHERE id = 1").fetchone()
        return (int(row[0]), str(row[1])) if row else None

    # ---- card sales the central system has not answered ----------------------------------

    def mark_unanswered(self, client_sale_id: str, reason: str) -> None:
        """Remember a card sale whose outcome is unknown (kept from its first miss on)."""
        with self._tx() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO unanswered (client_sale_id, since, reason) VALUES (?, ?, ?)",
                (client_sale_id, datetime.now(UTC).isoformat(), reason[:200]),
            )

    def unanswered(self, client_sale_id: str) -> bool:
        with self._tx() as conn:
            row = conn.execute(
                "SELECT 1 FROM unanswered WHERE client_sale_id = ?", (client_sale_id,)
            ).fetchone()
        return row is not None

    def answered(self, client_sale_id: str) -> None:
        """The central system answered for this sale: its outcome is known."""
        with self._tx() as conn:
            conn.execute("DELETE FROM unanswered WHERE client_sale_id = ?", (client_sale_id,))

    def unanswered_count(self) -> int:
        with self._tx() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM unanswered").fetchone()[0])

    # ---- customers looked up while online (their last known points) ----------------------

    def remember_lookup(self, q: str, found: list[dict[str, Any]], at: datetime) -> None:
        """A customer look-up central answered: the customers and their balances, kept for
        offline; the oldest beyond KNOWN_CUSTOMERS_KEPT are forgotten."""
        with self._tx() as conn:
            for c in found:
                conn.execute(
                    "INSERT OR REPLACE INTO known_customers VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        int(c["customer_id"]),
                        str(c.get("name", "")),
                        str(c.get("email_masked", "")),
                        str(c.get("phone_masked", "")),
                        int(c.get("points_balance", 0)),
                        at.isoformat(),
                    ),
                )
            conn.execute(
                "INSERT OR REPLACE INTO customer_lookups VALUES (?, ?, ?)",
                (
                    lookup_hash(q),
                    json.dumps([int(c["customer_id"]) for c in found]),
                    at.isoformat(),
                ),
            )
            for table in ("known_customers", "customer_lookups"):
                conn.execute(
                    f"DELETE FROM {table} WHERE rowid NOT IN (SELECT rowid FROM {table}"
                    " ORDER BY seen_at DESC LIMIT ?)",
                    (KNOWN_CUSTOMERS_KEPT,),
                )

    def remember_points(self, customer_id: int, balance: int, at: datetime) -> None:
        """A balance central just gave for a customer the till knows."""
        with self._tx() as conn:
            conn.execute(
                "UPDATE known_customers SET points_balance = ?, seen_at = ? WHERE customer_id = ?",
                (balance, at.isoformat(), customer_id),
            )

    def known_lookup(self, q: str) -> list[KnownCustomer] | None:
        """The customers this same look-up found when last online (None: never asked online)."""
        with self._tx() as conn:
            row = conn.execute(
                "SELECT customer_ids FROM customer_lookups WHERE q_hash = ?", (lookup_hash(q),)
            ).fetchone()
            if row is None:
                return None
            ids = [int(i) for i in json.loads(row[0])]
            rows = {
                int(r[0]): r
                for r in conn.execute(
                    "SELECT customer_id, name, email_masked, phone_masked, points_balance, seen_at"
                    f" FROM known_customers WHERE customer_id IN ({','.join('?' * len(ids))})",
                    ids,
                )
            }
        return [_known(rows[i]) for i in ids if i in rows]

    def known_customer(self, customer_id: int) -> KnownCustomer | None:
        with self._tx() as conn:
            row = conn.execute(
                "SELECT customer_id, name, email_masked, phone_masked, points_balance, seen_at"
                " FROM known_customers WHERE customer_id = ?",
                (customer_id,),
            ).fetchone()
        return _known(row) if row else None

    # ---- catalogue snapshot --------------------------------------------------------------

    def save_snapshot(self, body: dict[str, Any], fetched_at: datetime) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO snapshot (id, fetched_at, body) VALUES (1, ?, ?)"
                " ON CONFLICT (id) DO UPDATE"
                " SET fetched_at = excluded.fetched_at, body = excluded.body",
                (fetched_at.isoformat(), json.dumps(body)),
            )

    def snapshot(self) -> tuple[dict[str, Any], datetime] | None:
        with self._tx() as conn:
            row = conn.execute("SELECT body, fetched_at FROM snapshot WHERE id = 1").fetchone()
        return (json.loads(row[0]), datetime.fromisoformat(row[1])) if row else None

    # ---- cashiers who may sign in offline ------------------------------------------------

    def remember_cashier(self, c: CachedCashier) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO cashiers VALUES (?, ?, ?, ?, ?, ?)",
                (
                    c.staff_code,
                    c.username,
                    c.display_name,
                    c.role,
                    c.pin_hash,
                    datetime.now(UTC).isoformat(),
                ),
            )
            # Signed in online just now: the next snapshot records their current fingerprint.
            conn.execute("DELETE FROM cashier_fingerprints WHERE staff_code = ?", (c.staff_code,))

    def forget_cashier(self, staff_code: str) -> None:
        with self._tx() as conn:
            conn.execute("DELETE FROM cashiers WHERE staff_code = ?", (staff_code,))
            conn.execute("DELETE FROM cashier_fingerprints WHERE staff_code = ?", (staff_code,))

    def prune_cashiers(self, staff: dict[str, str]) -> list[str]:
        """Forget the offline sign-in of everyone the central side no longer lists for this store,
        or whose PIN changed since they signed in here (`staff`: code -> PIN fingerprint); a
        cached cashier seen for the first time keeps the current fingerprint. Who was forgotten."""
        with self._tx() as conn:
            cached = [r[0] for r in conn.execute("SELECT staff_code FROM cashiers")]
            known = dict(conn.execute("SELECT staff_code, fingerprint FROM cashier_fingerprints"))
            gone = [c for c in cached if c not in staff or known.get(c, staff[c]) != staff[c]]
            for code in gone:
                conn.execute("DELETE FROM cashiers WHERE staff_code = ?", (code,))
                conn.execute("DELETE FROM cashier_fingerprints WHERE staff_code = ?", (code,))
            for code in cached:
                if code not in gone:
                    conn.execute(
                        "INSERT OR IGNORE INTO cashier_fingerprints VALUES (?, ?)",
                        (code, staff[code]),
                    )
        return gone

    def cashier(self, staff_code: str) -> CachedCashier | None:
        with self._tx() as conn:
            row = conn.execute(
                "SELECT staff_code, username, display_name, role, pin_hash"
                " FROM cashiers WHERE staff_code = ?",
                (staff_code,),
            ).fetchone()
        return CachedCashier(*row) if row else None

    # ---- receipts and drawer kicks waiting for the printer -------------------------------

    def queue_job(self, kind: str, job_id: str, data: bytes) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO print_queue VALUES (?, ?, ?, ?)",
                (job_id, kind, data, datetime.now(UTC).isoformat()),
            )

    def queued_jobs(self) -> list[QueuedJob]:
        with self._tx() as conn:
            rows = conn.execute(
                "SELECT job_id, kind, data FROM print_queue ORDER BY queued_at"
            ).fetchall()
        return [QueuedJob(r[0], r[1], bytes(r[2])) for r in rows]

    def job_done(self, kind: str, job_id: str) -> None:
        with self._tx() as conn:
            conn.execute("DELETE FROM print_queue WHERE kind = ? AND job_id = ?", (kind, job_id))


_ENTRY_COLUMNS = (
    "seq, client_sale_id, sold_at, body, sale, card_total, status, central_sale_id, message"
)


def _entry(row: tuple[Any, ...]) -> StoredEntry:
    seq, cid, sold_at, body, sale, card_total, status, central, message = row
    return StoredEntry(
        seq,
        cid,
        datetime.fromisoformat(sold_at),
        json.loads(body),
        json.loads(sale),
        card_total,
        status,
        central,
        message,
    )


def _known(row: tuple[Any, ...]) -> KnownCustomer:
    return KnownCustomer(
        int(row[0]),
        str(row[1]),
        str(row[2]),
        str(row[3]),
        int(row[4]),
        datetime.fromisoformat(row[5]),
    )
