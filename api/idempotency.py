"""Idempotency-Key handling: the first answer to a write is stored and replayed."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fastapi.responses import JSONResponse

from api.errors import ApiError
from db.repositories import bookkeeping
from db.session import Database


def request_hash(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def replay(db: Database, scope: str, key: str | None, digest: str) -> JSONResponse | None:
    """The stored answer for this key, or None; the same key with another body is a 409."""
    if not key:
        return None
    with db.unit_of_work() as s:
        rec = bookkeeping.idempotency_record(s, scope, key)
        if rec is None:
            return None
        if rec.request_hash != digest:
            raise ApiError(
                409,
                "idempotency_key_reused",
                "This Idempotency-Key was used for a different request.",
            )
        return JSONResponse(
            rec.response_body, status_code=rec.status_code, headers={"Idempotent-Replay": "true"}
        )


def remember(
    db: Database, scope: str, key: str | None, digest: str, status: int, body: Any
) -> None:
    if not key:
        return
    with db.unit_of_work() as s:
        bookkeeping.save_idempotency_record(
            s, scope=scope, key=key, request_hash=digest, status_code=status, body=body
        )
