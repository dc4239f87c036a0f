"""The audit log's hash chain: the canonical form of a row, its SHA-256, and where a row belongs.

Pure rules (no database): the repository feeds the fields in, the verifier feeds them in again.
A row's hash covers every field it shows an auditor plus the previous row's hash, so changing,
removing or inserting a row anywhere breaks every later link of its chain.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

FORMAT = "tillflow-audit-v1"  # bumped (and kept verifiable) if the canonical form ever changes
CENTRAL = "central"  # the chain of rows that belong to no location (head office, sign-in by name)
CHAIN_NAME_MAX = 40


def genesis_hash(chain: str) -> str:
    """The "previous hash" of a chain's first row: bound to the chain's name, so a row moved to
    the start of another chain does not verify there."""
    return hashlib.sha256(f"{FORMAT}:genesis:{chain}".encode()).hexdigest()


def canonical_at(at: datetime) -> str:
    """A timestamp as the chain hashes it: UTC, microseconds, ISO 8601."""
    if at.tzinfo is None:
        raise ValueError("audit timestamps carry their time zone")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True, kw_only=True)
class ChainedFields:
    """Every field of an audit row the hash covers. `detail_json` is PostgreSQL's own text form
    of the jsonb value (`detail::text`: keys ordered, one spacing), so the hash does not depend on
    how a client or a driver happened to spell the JSON."""

    chain: str
    id: int
    at: datetime
    actor_user_id: int | None
    location_id: int | None
    action: str
    subject: str
    workflow_id: str | None
    detail_json: str
    prev_hash: str


def canonical(fields: ChainedFields) -> bytes:
    """One unambiguous serialisation: a JSON array in a fixed order (strings escaped, so no field
    can bleed into the next)."""
    return json.dumps(
        [
            FORMAT,
            fields.chain,
            fields.id,
            canonical_at(fields.at),
            fields.actor_user_id,
            fields.location_id,
            fields.action,
            fields.subject,
            fields.workflow_id,
            fields.detail_json,
            fields.prev_hash,
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode("utf-8")


def row_hash(fields: ChainedFields) -> str:
    """The row's own hash (hex SHA-256 of its canonical form, previous hash included)."""
    return hashlib.sha256(canonical(fields)).hexdigest()


# ---- which chain a row belongs to ---------------------------------------------------------

Hint = tuple[Literal["till", "location"], str]

_LOCATION_PREFIXES = ("location", "store", "stock")


def location_hint(subject: str, detail: dict[str, Any]) -> Hint | int | None:
    """Where an audit row happened, read from what callers already write: a location id in
    `detail["location_id"]`, a till ("till:BER1" or `detail["till"]`) or a location code
    ("location:BER", "store:BER", "stock:BER:SKU", `detail["store"]` / `detail["location"]`).
    None: nothing says, the row goes to the central chain."""
    lid = detail.get("location_id")
    if isinstance(lid, int) and not isinstance(lid, bool):
        return lid
    kind, _, rest = subject.partition(":")
    if kind == "till" and rest:
        return ("till", rest.split(":", 1)[0])
    if kind in _LOCATION_PREFIXES and rest:
        return ("location", rest.split(":", 1)[0])
    till = detail.get("till")
    if isinstance(till, str) and till:
        return ("till", till)
    for key in ("store", "location"):
        code = detail.get(key)
        if isinstance(code, str) and code:
            return ("location", code)
    return None


def chain_name_for(location_code: str | None, location_id: int | None, taken: bool) -> str:
    """A chain's name: the location's code when the chain is made (or "central"); when that name
    already belongs to another chain (a code reused after a rename), the id makes it unique."""
    if location_id is None:
        return CENTRAL
    base = (location_code or f"location-{location_id}")[: CHAIN_NAME_MAX - 12]
    return f"{base}#{location_id}" if taken or base == CENTRAL else base
