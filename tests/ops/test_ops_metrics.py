"""/metrics on the API and on a worker's port, scraped and parsed after real requests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
from helpers.api import own_api
from helpers.tills import free_port
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import CollectorRegistry
from pydantic import SecretStr
from sqlalchemy import delete, select

from db.models import Payment, Till
from db.models_tills import OfflineJournalEntry
from db.session import Database
from tillflow.metrics import DatabaseGauges, serve_worker_metrics

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    """{(sample name, sorted labels): value} of a Prometheus text exposition."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def names(samples: Samples) -> Iterator[str]:
    return (name for name, _ in samples)


async def scrape(api: Any, **headers: str) -> Samples:
    r = await api.get("/metrics", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return parse(r.text)


async def test_api_counts_requests_by_route_template_sales_and_webhooks(api, cashier) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    before = await scrape(api)
    client_id = uuid.uuid4().hex[:16]
    sale = await api.post(
        "/tills/BER1/sales",
        json={
            "client_sale_id": client_id,
            "lines": [{"sku": "NOTEBOOK-A5", "quantity": 1}],
            "tenders": [{"kind": "cash", "amount": 2000}],
        },
        headers=cashier,
    )
    assert sale.status_code == 200, sale.text
    made_up = f"/no-such-page-{uuid.uuid4().hex}"
    assert (await api.get(made_up)).status_code == 404
    bad = await api.post(
        "/webhooks/stripe",
        content=b'{"id": "evt_x", "type": "payment_intent.succeeded"}',
        headers={"Stripe-Signature": "t=1,v1=bad", "Content-Type": "application/json"},
    )
    assert bad.status_code in (400, 401), bad.text
    after = await scrape(api)

    route = {"route": "/tills/{till}/sales", "method": "POST"}
    assert value(after, "tillflow_http_requests_total", **route, status="200") == (
        value(before, "tillflow_http_requests_total", **route, status="200") + 1
    )
    assert value(after, "tillflow_http_request_duration_seconds_count", **route) == (
        value(before, "tillflow_http_request_duration_seconds_count", **route) + 1
    )
    sold = {"till": "BER1", "status": "completed"}
    assert value(after, "tillflow_sales_total", **sold) == (
        value(before, "tillflow_sales_total", **sold) + 1
    )
    assert value(after, "tillflow_sale_duration_seconds_count") == (
        value(before, "tillflow_sale_duration_seconds_count") + 1
    )
    refused = {"source": "stripe", "outcome": "refused"}
    assert value(after, "tillflow_webhook_deliveries_total", **refused) == (
        value(before, "tillflow_webhook_deliveries_total", **refused) + 1
    )
    # A made-up path is one "unmatched" series, never a label of its own.
    unmatched = {"route": "unmatched", "method": "GET", "status": "404"}
    assert value(after, "tillflow_http_requests_total", **unmatched) >= 1
    assert not any(made_up in str(labels) for _, labels in after)
    assert not any("BER1" in dict(labels).get("route", "") for _, labels in after)


async def test_metrics_token_guards_the_api_metrics(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db, temporal_client, test_settings, gateway
) -> None:
    token = uuid.uuid4().hex
    async with own_api(
        test_settings,
        db=db,
        client=temporal_client,
        gateway=gateway,
        metrics_token=SecretStr(token),
    ) as at:
        http = at("127.0.0.1")
        anonymous = await http.get("/metrics")
        assert anonymous.status_code == 401
        assert "TILLFLOW_METRICS_TOKEN" in anonymous.json()["error"]["message"]
        wrong = await http.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        samples = await scrape(http, Authorization=f"Bearer {token}")
        assert any(n.startswith("tillflow_http_requests") for n in names(samples))


def _journal_entry(db: Database, till: str) -> tuple[int, int]:
    """An uploaded offline sale not applied yet, and a card tender with no provider record."""
    cid = uuid.uuid4().hex[:16]
    with db.unit_of_work() as s:
        t = s.scalars(select(Till).where(Till.code == till)).one()
        entry = OfflineJournalEntry(
            till_id=t.id,
            client_sale_id=cid,
            workflow_id=f"sale:{till}:{cid}",
            batch_id=f"b-{cid}",
            sold_at=datetime.now(UTC),
            payload={},
            status="received",
        )
        pay = Payment(
            workflow_id=f"sale:{till}:{cid}",
            tender="card",
            amount=1234,
            tendered=1234,
            currency="EUR",
            status="captured",
            provider="stripe",
            provider_ref="",
            idempotency_key=f"ops-metrics-{cid}",
            location_id=t.location_id,
            till_id=t.id,
        )
        s.add_all([entry, pay])
        s.flush()
        return entry.id, pay.id


def test_worker_port_serves_database_gauges(db: Database) -> None:
    entry_id, pay_id = _journal_entry(db, "BER2")
    registry = CollectorRegistry()
    registry.register(DatabaseGauges(db, discrepancy_days=7))
    token = uuid.uuid4().hex
    port = free_port()
    server = serve_worker_metrics("127.0.0.1", port, token, registry)
    assert server is not None
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        assert httpx.get(url, timeout=10).status_code == 401
        r = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert r.status_code == 200, r.text
        samples = parse(r.text)
        assert value(samples, "tillflow_metrics_database_up") == 1
        assert (
            value(samples, "tillflow_offline_journal_backlog", till="BER2", state="received") >= 1
        )
        assert (
            value(
                samples,
                "tillflow_reconciliation_discrepancies",
                store="BER",
                kind="card_without_provider_id",
            )
            >= 1
        )
        for gauge in ("tillflow_stock_sync_queued_skus", "tillflow_stock_sync_lag_seconds"):
            assert value(samples, gauge) >= 0 and gauge in set(names(samples))
        # A second worker on the same port is not a crash: it runs on without metrics.
        assert serve_worker_metrics("127.0.0.1", port, None, registry) is None
    finally:
        server.shutdown()
        server.server_close()
        with db.unit_of_work() as s:
            s.execute(delete(OfflineJournalEntry).where(OfflineJournalEntry.id == entry_id))
            s.execute(delete(Payment).where(Payment.id == pay_id))
