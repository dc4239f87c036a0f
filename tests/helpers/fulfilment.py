"""Test helpers for fulfilment: placing orders on the time-skipping server, tasks, notices,
histories."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from contracts.common import WEB_TASK_QUEUE
from contracts.online import OnlineOrderRequest, online_order_workflow_id
from db.repositories import fulfilment, online_orders, outbox
from db.session import Database
from domain.online_orders import ExternalLine, ExternalOrder
from helpers.fake_shopify import FakeShopifyServer
from helpers.webstore import connect, disconnect, eventually
from workflows.online_order import OnlineOrderWorkflow


@contextmanager
def shopify_store(db: Database, shopify: FakeShopifyServer) -> Iterator[Any]:
    """A Shopify web store connected to the fake shop, a Shopify location for each of BER, LIS
    and WH1; disconnected at the end."""
    store = connect(
        db,
        "shopify",
        base_url=shopify.url,
        access_token=shopify.token,
        locations=[(c, str(shopify.add_location())) for c in ("BER", "LIS", "WH1")],
    )
    try:
        yield store
    finally:
        disconnect(db, store.code)


class Orders:
    """Starts Shopify orders straight on the time-skipping server (it has no search attributes for
    the webhook route's start) and finds their fulfilment."""

    def __init__(
        self, env: Any, db: Database, shop: Any, shopify: FakeShopifyServer, api: Any
    ) -> None:
        self.env, self.db, self.shop, self.shopify, self.api = env, db, shop, shopify, api

    async def place(self, lines: list[tuple[str, int]], *, pickup: str = "") -> str:
        oid = uuid.uuid4().int % 10**9
        ext = tuple(
            ExternalLine(str(oid * 10 + n), sku, qty, unit_price=1290, title=f"Item {sku}")
            for n, (sku, qty) in enumerate(lines, start=1)
        )
        total = sum(1290 * q for _, q in lines)
        self.shopify.add_order(
            oid,
            [
                {"id": oid * 10 + n, "sku": sku, "quantity": q}
                for n, (sku, q) in enumerate(lines, start=1)
            ],
            total=f"{total / 100:.2f}",
        )
        order = ExternalOrder(
            str(oid),
            f"#{oid}",
            "EUR",
            ext,
            total,
            "kim@example.test",
            "Kim Kunde",
            "DE",
            52.52,
            13.40,
            pickup,
            financial_status="paid",
        )
        wf = online_order_workflow_id("shopify", str(oid), self.shop.code)
        await self.env.client.start_workflow(
            OnlineOrderWorkflow.run,
            OnlineOrderRequest(
                source="shopify", store_code=self.shop.code, order=order, version_us=1
            ),
            id=wf,
            task_queue=WEB_TASK_QUEUE,
        )
        return wf

    def number(self, wf: str) -> str:
        with self.db.unit_of_work() as s:
            found = online_orders.summary(s, wf)
        return found.number if found else ""

    async def task(self, store: str, wf: str, kind: str, headers: dict[str, str]) -> dict[str, Any]:
        """Wait for the order's open task of a kind on the location's list (as staff see it)."""

        async def found() -> dict[str, Any] | None:
            r = await self.api.get(
                f"/fulfilment/{store}/tasks", params={"kind": kind}, headers=headers
            )
            assert r.status_code == 200, r.text
            return next((t for t in r.json() if t["workflow_id"].endswith(f":{wf}:{store}")), None)

        return await eventually(found, timeout=30)

    def notices(self, reference: str, kind: str | None = None) -> list[outbox.OutboxEntry]:
        with self.db.unit_of_work() as s:
            return [n for n in outbox.for_reference(s, reference) if kind is None or n.kind == kind]

    def tasks(self, workflow_id: str) -> list[fulfilment.TaskView]:
        with self.db.unit_of_work() as s:
            return fulfilment.tasks_of_workflow(s, workflow_id)

    def shopify_order(self, wf: str) -> dict[str, Any]:
        return self.shopify.orders[int(wf.rsplit(":", 1)[1])]


async def trail(handle: Any) -> list[str]:
    """The workflow's history as activity types, updates and signals, in order."""
    out: list[str] = []
    async for e in handle.fetch_history_events():
        if e.HasField("activity_task_scheduled_event_attributes"):
            out.append(e.activity_task_scheduled_event_attributes.activity_type.name)
        elif e.HasField("workflow_execution_update_accepted_event_attributes"):
            out.append(
                "update:"
                + e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
            )
        elif e.HasField("workflow_execution_signaled_event_attributes"):
            out.append("signal:" + e.workflow_execution_signaled_event_attributes.signal_name)
    return out


def in_order(seen: list[str], expected: list[str]) -> bool:
    """`expected` is a subsequence of `seen`."""
    it = iter(seen)
    return all(any(s == want for s in it) for want in expected)
