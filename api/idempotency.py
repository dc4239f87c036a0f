"""Idempotency-Key handling: the first answer to a write is stored and replayed."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

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


@dataclass(frozen=True)
class Answer:
    """A write's answer with its own status (e.g. 202 when it waits for an approval)."""

    status: int
    body: Any


def _split(result: Any, status: int) -> tuple[int, Any]:
    if isinstance(result, Answer):
        return result.status, jsonable_encoder(result.body)
    return status, jsonable_encoder(result)


async def once(
    db: Database,
    scope: str,
    key: str | None,
    request: Any,
    run: Callable[[], Awaitable[Any]],
    *,
    status: int = 200,
) -> JSONResponse:
    """Run a write once per Idempotency-Key in `scope`: a replay gets the first answer back, the
    same key with another request is a 409. `run` returns the body (answered with `status`) or an
    Answer; a refusal it raises is not remembered (the same request may succeed later). `request`
    must hold no secret: its hash is stored."""
    digest = request_hash(request)
    replayed = await run_in_threadpool(replay, db, scope, key, digest)
    if replayed is not None:
        return replayed
    code, body = _split(await run(), status)
    await run_in_threadpool(remember, db, scope, key, digest, code, body)
    return JSONResponse(body, status_code=code)


def once_sync(
    db: Database,
    scope: str,
    key: str | None,
    request: Any,
    run: Callable[[], Any],
    *,
    status: int = 200,
) -> JSONResponse:
    """`once` for a route that runs in the thread pool (no Temporal call)."""
    digest = request_hash(request)
    replayed = replay(db, scope, key, digest)
    if replayed is not None:
        return replayed
    code, body = _split(run(), status)
    remember(db, scope, key, digest, code, body)
    return JSONResponse(body, status_code=code)
