"""Every API request has a deadline: a hung dependency (Temporal, PostgreSQL, a provider) never
holds a caller longer than that; the answer is then a 503 `temporarily_unavailable` with
`Retry-After`.

One ASGI middleware, installed by `api/app.py`. Route groups that legitimately wait longer have
their own deadline: a till sale and its tenders, returns and the storefront checkout wait on a
payment provider or on a card at the reader (`TILLFLOW_API_PAYMENT_DEADLINE_S`); the journal upload
waits as long as its `?wait=` asks, on top of the default. An answer that has started (its headers
are sent) is never cut off.

The work behind a request that ran out of time is cancelled where it awaits; a sync route's thread
finishes on its own and its answer is dropped. So a 503 from here means "unknown, retry": tills
resend with the same client sale id and other writes carry an Idempotency-Key, so a retry is safe.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import domain_response
from api.routes.till_offline import MAX_WAIT_SECONDS
from domain.errors import TemporarilyUnavailable
from tillflow.settings import Settings

log = logging.getLogger("tillflow.api")

# POST routes that wait on a payment provider or a card at the reader.
PAYMENT_ROUTES = (
    re.compile(r"^/tills/[^/]+/sales$"),
    re.compile(r"^/tills/[^/]+/sales/[^/]+/tenders$"),
    re.compile(r"^/tills/[^/]+/sales/[^/]+/approve$"),  # the sale goes on to its tenders
    re.compile(r"^/tills/[^/]+/sales/[^/]+/void$"),  # refunds cards
    re.compile(r"^/tills/[^/]+/returns$"),
    re.compile(r"^/returns/[^/]+/(approve|reject)$"),
    re.compile(r"^/storefront/carts/[^/]+/checkout$"),
)
JOURNAL_ROUTE = re.compile(r"^/tills/[^/]+/journal$")
REPORT_ROUTE = re.compile(r"^/reports/[^/]+$")  # a month of every store takes a while
JOURNAL_WAIT_DEFAULT_S = 20.0  # as POST /tills/{till}/journal's `wait`


class DeadlineMiddleware:
    """Answer 503 + Retry-After when a request has not started its answer within its deadline."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.default_s = settings.api_deadline_s
        self.payment_s = settings.api_payment_deadline_s
        self.report_s = settings.api_report_deadline_s
        self._leftovers: set[asyncio.Task[None]] = set()

    def deadline_for(self, scope: Scope) -> float:
        """The deadline of this request, in seconds, by its route group."""
        path: str = scope.get("path", "")
        if scope.get("method") == "POST":
            if any(p.match(path) for p in PAYMENT_ROUTES):
                return self.payment_s
            if JOURNAL_ROUTE.match(path):
                return self.default_s + _journal_wait(scope)
        if scope.get("method") == "GET" and REPORT_ROUTE.match(path):
            return self.report_s
        return self.default_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = self.deadline_for(scope)
        started = False
        cut_off = False

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if cut_off:
                return  # the 503 went out already: whatever the route says afterwards is dropped
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        task = asyncio.create_task(self._run(scope, receive, guarded_send))
        try:
            done, _ = await asyncio.wait({task}, timeout=deadline)
        except asyncio.CancelledError:
            task.cancel()
            raise
        if task in done or started:
            await task  # finished (its exception, if any, goes to the server's error handling)
            return
        cut_off = True
        task.cancel()
        # A sync route's thread cannot be interrupted: let the task wind down on its own rather than
        # keep the caller waiting for it.
        self._leftovers.add(task)
        task.add_done_callback(self._forget)
        log.warning(
            "request cut off at its deadline",
            extra={
                "method": scope.get("method"),
                "path": scope.get("path"),
                "deadline_s": deadline,
            },
        )
        response = domain_response(
            TemporarilyUnavailable(
                f"The central system did not answer within {deadline:g} s; "
                "please try again in a moment."
            )
        )
        await response(scope, receive, send)

    async def _run(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._leftovers.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning(
                "request cut off at its deadline failed afterwards",
                extra={"error": repr(task.exception())[:300]},
            )


def _journal_wait(scope: Scope) -> float:
    raw: Any = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("wait")
    try:
        wait = float(raw[0]) if raw else JOURNAL_WAIT_DEFAULT_S
    except ValueError:
        return 0.0  # refused as invalid by the route itself
    return min(max(wait, 0.0), float(MAX_WAIT_SECONDS))


def install(app: Any, settings: Settings) -> None:
    """Put the deadline around every route of `app`."""
    app.add_middleware(DeadlineMiddleware, settings=settings)
