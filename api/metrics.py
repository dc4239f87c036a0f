"""The API's Prometheus metrics: one ASGI middleware that counts every answer by route template
(never the raw path: /tills/BER1/sales and /tills/LIS2/sales are one series of
`/tills/{till}/sales`), the sales, webhook deliveries and journal uploads among them, and
GET /metrics. The metrics themselves live in tillflow/metrics.py (one registry per process)."""

from __future__ import annotations

import json
import time
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import unauthorized
from api.deps import AuthorizationHeader
from tillflow import metrics
from tillflow.settings import Settings

SALE_ROUTE = "/tills/{till}/sales"
JOURNAL_ROUTE = "/tills/{till}/journal"
UNMATCHED = "unmatched"  # no route: 404s of made-up paths stay one series
# Answers that may come before the caller or the till was checked: their till label would be
# whatever the caller typed, so they count under "unknown" (no label per made-up till).
UNCHECKED = frozenset({400, 401, 403, 404, 405, 413, 422, 429})
MAX_SALE_BODY = 256 * 1024  # a sale's answer is a few kB; more is not parsed for its status


def _outcome(status: int) -> str:
    return "accepted" if status < 400 else "refused" if status < 500 else "failed"


class MetricsMiddleware:
    """Times and counts every HTTP answer; reads the status of a till sale's answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        seen: dict[str, Any] = {"status": 500, "body": bytearray(), "sale": None}

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = int(message["status"])
                seen["sale"] = _route(scope) == SALE_ROUTE and scope.get("method") == "POST"
            elif message["type"] == "http.response.body" and seen["sale"]:
                body: bytearray = seen["body"]
                if len(body) < MAX_SALE_BODY:
                    body.extend(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            self._record(scope, seen, time.perf_counter() - started)

    def _record(self, scope: Scope, seen: dict[str, Any], elapsed: float) -> None:
        route = _route(scope)
        method = str(scope.get("method", ""))
        status: int = seen["status"]
        metrics.HTTP_REQUESTS.labels(route, method, str(status)).inc()
        metrics.HTTP_LATENCY.labels(route, method).observe(elapsed)
        if method != "POST":
            return
        params = scope.get("path_params") or {}
        till = "unknown" if status in UNCHECKED else str(params.get("till", "unknown"))
        if route == SALE_ROUTE:
            metrics.SALES.labels(till, _sale_status(status, bytes(seen["body"]))).inc()
            metrics.SALE_LATENCY.observe(elapsed)
        elif route == JOURNAL_ROUTE:
            outcome = {200: "complete", 202: "pending"}.get(status) or (
                "refused" if status < 500 else "failed"
            )
            metrics.JOURNAL_UPLOADS.labels(till, outcome).inc()
        elif route.startswith("/webhooks/"):
            metrics.WEBHOOKS.labels(route.split("/")[2], _outcome(status)).inc()


def _route(scope: Scope) -> str:
    """The template of the route that answered (`/tills/{till}/sales`), or "unmatched"."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else UNMATCHED


def _sale_status(status: int, body: bytes) -> str:
    if status >= 500:
        return "failed"
    if status >= 400:
        return "rejected"
    try:
        answer = json.loads(body)
    except ValueError:
        return "unknown"
    value = answer.get("status") if isinstance(answer, dict) else None
    return value if value in ("completed", "open", "abandoned", "voided") else "unknown"


router = APIRouter(tags=["ops"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"},
        401: {"description": "TILLFLOW_METRICS_TOKEN is set and this is not `Bearer <it>`"},
    },
)
async def prometheus_metrics(request: Request, authorization: AuthorizationHeader = None) -> Any:
    """This API process's metrics in the Prometheus text format: requests by route template and
    status, sales, webhook deliveries, journal uploads, and the Temporal SDK's metrics of the
    in-process sale worker. Open unless TILLFLOW_METRICS_TOKEN is set; then send
    `Authorization: Bearer <token>`. Scrape every replica: each counts its own answers."""
    settings: Settings = request.app.state.settings
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    if not metrics.authorized(token, authorization):
        raise unauthorized("GET /metrics needs 'Authorization: Bearer <TILLFLOW_METRICS_TOKEN>'.")
    body = await run_in_threadpool(metrics.exposition)
    return Response(content=body, media_type=CONTENT_TYPE_LATEST)


def install(app: FastAPI) -> None:
    """Count every answer (outermost, so refusals at the door count too) and serve /metrics."""
    app.add_middleware(MetricsMiddleware)
    app.include_router(router)
