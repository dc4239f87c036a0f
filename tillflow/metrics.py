"""Prometheus metrics of every tillflow process: the shared registry's metrics, the gauges read
from PostgreSQL at scrape time, the Temporal SDK's own worker metrics, and the small /metrics
port of each worker process (the API serves its own at GET /metrics, api/metrics.py).

One exposition per process: ours (prometheus_client's registry) followed by the SDK's, which its
native exporter serves on a private 127.0.0.1 port that only this process reads."""

from __future__ import annotations

import hmac
import logging
import socket
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from db.session import Database

log = logging.getLogger("tillflow.metrics")

# ---- what the API counts as it answers (api/metrics.py records them) ----
HTTP_REQUESTS = Counter(
    "tillflow_http_requests",
    "HTTP requests answered, by route template (never the raw path), method and status",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "tillflow_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template and method",
    ["route", "method"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 180),
)
SALES = Counter(
    "tillflow_sales",
    "Till sales answered by the API, by till and the sale's status (completed, open, or the "
    "error class: rejected for a 4xx, failed for a 5xx)",
    ["till", "status"],
)
SALE_LATENCY = Histogram(
    "tillflow_sale_duration_seconds",
    "Time from a till's POST /tills/{till}/sales to the answer",
    buckets=(0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10, 30, 60, 170),
)
WEBHOOKS = Counter(
    "tillflow_webhook_deliveries",
    "Webhook deliveries received, by source (stripe, shopify, woocommerce, magento, web) and "
    "outcome (accepted: 2xx, refused: 4xx, e.g. a bad signature, failed: 5xx)",
    ["source", "outcome"],
)
JOURNAL_UPLOADS = Counter(
    "tillflow_offline_journal_uploads",
    "Offline journal batches tills uploaded, by till and outcome (complete, pending: a 202, "
    "refused, failed)",
    ["till", "outcome"],
)


class DatabaseGauges(Collector):
    """Gauges read from PostgreSQL on each scrape (registered by the central worker only)."""

    def __init__(self, db: Database, *, discrepancy_days: int) -> None:
        self.db = db
        self.discrepancy_days = discrepancy_days

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily(
            "tillflow_metrics_database_up",
            "1 when the database gauges below could be read on this scrape",
        )
        from db.repositories import ops_metrics  # the report loaders' pandas: central worker only

        try:
            with self.db.unit_of_work() as s:
                snap = ops_metrics.snapshot(s, discrepancy_days=self.discrepancy_days)
        except Exception:  # noqa: BLE001 - a scrape reports a failure as data
            log.warning("metrics: reading the database gauges failed", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        queued = GaugeMetricFamily(
            "tillflow_stock_sync_queued_skus", "SKUs whose stock changed and is not yet pushed"
        )
        queued.add_metric([], snap.stock_sync.queued_skus)
        yield queued
        lag = GaugeMetricFamily(
            "tillflow_stock_sync_lag_seconds",
            "Age of the oldest stock change not yet pushed to the web stores (0: none waiting)",
        )
        lag.add_metric([], snap.stock_sync.oldest_age_s)
        yield lag
        failing = GaugeMetricFamily(
            "tillflow_stock_sync_failing_listings",
            "Web-store listings whose last stock push failed, by web store",
            labels=["webstore"],
        )
        for code, n in sorted(snap.stock_sync.failing_listings.items()):
            failing.add_metric([code], n)
        yield failing
        stuck = GaugeMetricFamily(
            "tillflow_webhook_inbox_stuck",
            "Webhook deliveries stored but not handed to their workflow after "
            f"{ops_metrics.INBOX_GRACE_SECONDS} s, by source",
            labels=["source"],
        )
        for provider, n in sorted(snap.inbox_stuck.items()):
            stuck.add_metric([provider], n)
        yield stuck
        journal = GaugeMetricFamily(
            "tillflow_offline_journal_backlog",
            "Offline sales uploaded by a till and not applied yet (state received) or kept for a "
            "manager (state flagged), by till",
            labels=["till", "state"],
        )
        for (till, state), n in sorted(snap.journal.items()):
            journal.add_metric([till, state], n)
        yield journal
        disc = GaugeMetricFamily(
            "tillflow_reconciliation_discrepancies",
            f"Reconciliation discrepancies of the last {self.discrepancy_days} days, by store "
            "and kind",
            labels=["store", "kind"],
        )
        for (store, kind), n in sorted(snap.discrepancies.items()):
            disc.add_metric([store, kind], n)
        yield disc


_sdk: dict[str, str] = {}  # "url": where this process's Temporal SDK exporter answers


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def enable_sdk_metrics() -> None:
    """Make the Temporal SDK export its worker and client metrics (temporal_*): call before the
    process's first Client.connect. The exporter listens on 127.0.0.1 only; this process's
    /metrics appends what it says."""
    if _sdk:
        return
    port = _free_port()
    runtime = Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(
                bind_address=f"127.0.0.1:{port}",
                counters_total_suffix=True,
                durations_as_seconds=True,
            )
        )
    )
    Runtime.set_default(runtime, error_if_already_set=False)
    _sdk["url"] = f"http://127.0.0.1:{port}/metrics"


def _sdk_text() -> bytes:
    url = _sdk.get("url")
    if not url:
        return b""
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 - our own 127.0.0.1
            body: bytes = answer.read()
    except OSError:
        return b""  # not listening yet (no worker started) or gone: our own metrics still count
    return body if body.endswith(b"\n") or not body else body + b"\n"


def exposition(registry: CollectorRegistry = REGISTRY) -> bytes:
    """This process's metrics in the Prometheus text format."""
    return generate_latest(registry) + _sdk_text()


def authorized(token: str | None, authorization: str | None) -> bool:
    """True when no token is configured, or the header is `Bearer <that token>`."""
    if not token:
        return True
    want = f"Bearer {token}".encode()
    return hmac.compare_digest(want, (authorization or "").strip().encode())


class _Handler(BaseHTTPRequestHandler):
    token: str | None = None
    registry: CollectorRegistry = REGISTRY

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.path.split("?")[0] not in ("/metrics", "/"):
            self._answer(404, b"not found: GET /metrics\n", "text/plain")
        elif not authorized(self.token, self.headers.get("Authorization")):
            self._answer(401, b"a bearer token is needed (TILLFLOW_METRICS_TOKEN)\n", "text/plain")
        else:
            self._answer(200, exposition(self.registry), CONTENT_TYPE_LATEST)

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if status == 401:
            self.send_header("WWW-Authenticate", "Bearer")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
        return  # scrapes are not worth a log line each


def serve_worker_metrics(
    host: str, port: int, token: str | None, registry: CollectorRegistry = REGISTRY
) -> ThreadingHTTPServer | None:
    """A /metrics port for a worker process (a daemon thread); None when port is 0 or taken (the
    worker runs on without it: a busy port is logged, never a crash loop)."""
    if not port:
        return None
    handler = type("MetricsHandler", (_Handler,), {"token": token, "registry": registry})
    try:
        server = ThreadingHTTPServer((host, port), handler)
    except OSError as err:
        log.warning("metrics port %s:%s not opened: %s", host, port, err)
        return None
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    log.info("metrics served", extra={"metrics_url": f"http://{host}:{port}/metrics"})
    return server


def start_worker_metrics(
    settings: Any, port: int, db: Database | None = None
) -> ThreadingHTTPServer | None:
    """What a worker process calls once: the database gauges (central worker: pass db) and its
    /metrics port. Settings is tillflow.settings.Settings."""
    if db is not None:
        REGISTRY.register(DatabaseGauges(db, discrepancy_days=settings.metrics_reconciliation_days))
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    return serve_worker_metrics(settings.metrics_host, port, token)
