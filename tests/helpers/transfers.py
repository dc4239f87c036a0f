"""Test set-up shared by the transfers / counts tests: their worker's task queue and write
headers."""

from __future__ import annotations

import uuid
from typing import Any

QUEUE = f"test-stock-ops-{uuid.uuid4().hex[:8]}"  # the Transfer / Count worker of these tests


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


def with_key(headers: dict[str, str], k: dict[str, str] | None = None) -> dict[str, Any]:
    """The caller's headers with a fresh Idempotency-Key (or the one given, to replay a write)."""
    return {**headers, **(k or key())}
