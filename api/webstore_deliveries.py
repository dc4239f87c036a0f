"""Web store deliveries between the inbox and the OnlineOrder workflow.

A verified delivery is committed to the webhook inbox (status `received`) and acknowledged at once;
it is then handed to its order's workflow with signal-with-start, right after the answer. The inbox
row is the durable hand-over queue: `relay_pending` hands over anything still `received` (the API
stopped, or Temporal was down), so the web store never has to send it again.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import Client
from temporalio.service import RPCError

from api.online import hand_over
from contracts.online import OnlineOrderRequest, WebStoreEvent, online_order_workflow_id
from db.repositories import inbox
from db.session import Database
from domain.errors import InvalidRequest
from domain.online_orders import ExternalOrder, timestamp_us
from integrations.order_payloads import (
    magento_order,
    magento_version,
    shopify_order,
    woocommerce_order,
    woocommerce_version,
)

log = logging.getLogger("tillflow.api.webstore_deliveries")
SHOPIFY_ORDER_TOPICS = (
    "orders/create",
    "orders/updated",
    "orders/cancelled",
    "orders/paid",
    "orders/edited",
)
WOO_ORDER_TOPICS = ("order.created", "order.updated")
PROVIDERS = ("shopify", "woocommerce", "magento")
RELAY_AFTER = timedelta(
    seconds=10
)  # a delivery still `received` this long after it came is relayed
RELAY_EVERY_S = 5.0
HAND_OVERS_IN_FLIGHT = 8  # per API process: a storm queues here (acks come first), not in Temporal
MARK_EVERY_S = 0.05  # hand-over results are written to the inbox in batches


@dataclass(frozen=True)
class Delivery:
    """What the inbox keeps of a web store delivery, enough to hand it over again later."""

    provider: str
    store: str
    topic: str
    triggered_at: str
    body: dict[str, Any]

    def stored(self) -> dict[str, Any]:
        return {"store": self.store, "triggered_at": self.triggered_at, "body": self.body}

    @classmethod
    def from_inbox(cls, provider: str, topic: str, payload: dict[str, Any]) -> Delivery:
        return cls(
            provider, payload["store"], topic, payload.get("triggered_at", ""), payload["body"]
        )


@dataclass(frozen=True)
class Work:
    """The order a delivery is about, and what to tell it."""

    workflow_id: str
    request: OnlineOrderRequest | None
    event: WebStoreEvent | None


MAX_WORKFLOW_ID = 200  # webhook_inbox.workflow_id


def work_for(
    d: Delivery, *, allow_split: bool, stores_first: bool, ship_to_store: bool = False
) -> Work | None:
    """Parse a delivery (InvalidRequest when it is not a valid order); None when no order is
    concerned."""
    try:
        work = _work_for(
            d, allow_split=allow_split, stores_first=stores_first, ship_to_store=ship_to_store
        )
    except (ValueError, TypeError, ArithmeticError, AttributeError) as err:
        # A signed body of a shape no parser expected (a rate that is no number, a time beyond
        # year 9999, a field of the wrong type): as refused as a missing field, never a crash.
        raise InvalidRequest(f"The order cannot be read ({type(err).__name__}).") from None
    if work is not None and len(work.workflow_id) > MAX_WORKFLOW_ID:
        raise InvalidRequest("The order id is too long.")
    return work


def _work_for(
    d: Delivery, *, allow_split: bool, stores_first: bool, ship_to_store: bool
) -> Work | None:
    order: ExternalOrder
    if d.provider == "shopify":
        if d.topic == "refunds/create" and d.body.get("order_id"):
            return Work(
                online_order_workflow_id("shopify", str(d.body["order_id"]), d.store), None, None
            )
        if d.topic not in SHOPIFY_ORDER_TOPICS:
            return None
        order = shopify_order(d.body)
        version = timestamp_us(d.triggered_at or str(d.body.get("updated_at") or ""))
    elif d.provider == "magento":  # the pull's orders and Adobe Commerce order webhooks (issue 19)
        order = magento_order(d.body)
        version = timestamp_us(magento_version(d.body))
    else:
        if d.topic not in WOO_ORDER_TOPICS:
            return None
        order = woocommerce_order(d.body)
        version = timestamp_us(woocommerce_version(d.body))
    request = OnlineOrderRequest(
        source=d.provider,
        store_code=d.store,
        order=order,
        version_us=version,
        allow_split=allow_split,
        stores_first=stores_first,
        ship_to_store=ship_to_store,
    )
    event = WebStoreEvent(
        topic=d.topic,
        version_us=version,
        cancelled=order.cancelled,
        financial_status=order.financial_status,
        status=order.status,
    )
    return Work(online_order_workflow_id(d.provider, order.external_id, d.store), request, event)


def _mark(db: Database, inbox_id: int, status: str, workflow_id: str | None) -> None:
    with db.unit_of_work() as s:
        inbox.mark(s, inbox_id, status=status, workflow_id=workflow_id)


def _mark_many(db: Database, marks: list[tuple[int, str, str | None]]) -> None:
    with db.unit_of_work() as s:
        inbox.mark_many(s, marks)


class HandOver:
    """Hands deliveries to their workflows, a bounded number at a time."""

    def __init__(self, db: Database, client: Client, task_queue: str) -> None:
        self.db = db
        self.client = client
        self.task_queue = task_queue
        self.slots = asyncio.Semaphore(HAND_OVERS_IN_FLIGHT)
        self.running: set[asyncio.Task[Any]] = set()
        self._marks: list[tuple[int, str, str | None]] = []
        self._flusher: asyncio.Task[None] | None = None

    def submit(self, inbox_id: int, work: Work | None) -> None:
        """Hand over in the background, detached from the request: its connection is free at
        once."""
        self._keep(asyncio.create_task(self(inbox_id, work)))

    def _keep(self, task: asyncio.Task[Any]) -> None:
        self.running.add(task)
        task.add_done_callback(self.running.discard)

    async def __call__(self, inbox_id: int, work: Work | None) -> str:
        """Signal-with-start the order and mark the inbox row; RPC trouble leaves it for the
        relay."""
        status = "recorded"
        if work is not None and work.request is not None and work.event is not None:
            async with self.slots:
                try:
                    status = await hand_over(
                        self.client, work.workflow_id, work.request, work.event, self.task_queue
                    )
                except RPCError as err:
                    log.warning(
                        "hand-over failed; the relay retries it",
                        extra={"inbox_id": inbox_id, "error": str(err)},
                    )
                    return "received"
        self._marks.append((inbox_id, status, work.workflow_id if work else None))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
            self._keep(self._flusher)
        return status

    async def _flush(self) -> None:
        """One UPDATE for every result of the last few milliseconds, not a transaction each."""
        while self._marks:
            await asyncio.sleep(MARK_EVERY_S)
            batch, self._marks = self._marks, []
            await asyncio.to_thread(_mark_many, self.db, batch)

    async def drain(self) -> None:
        """Wait for hand-overs and marks in flight (tests; shutdown)."""
        while self.running:
            await asyncio.gather(*list(self.running), return_exceptions=True)


def _pending(db: Database, older_than: timedelta) -> list[tuple[int, str, str, dict[str, Any]]]:
    with db.unit_of_work() as s:
        rows = inbox.pending(s, PROVIDERS, datetime.now(UTC) - older_than)
        return [(r.id, r.provider, r.topic, r.payload) for r in rows]


async def relay_pending(hand: HandOver, settings: Any, older_than: timedelta = RELAY_AFTER) -> int:
    """Hand over every delivery still waiting; returns how many went through."""
    done = 0
    for inbox_id, provider, topic, payload in await asyncio.to_thread(
        _pending, hand.db, older_than
    ):
        try:
            work = work_for(
                Delivery.from_inbox(provider, topic, payload),
                allow_split=settings.routing_allow_split,
                stores_first=settings.routing_stores_first,
                ship_to_store=settings.routing_ship_to_store,
            )
        except Exception as err:  # noqa: BLE001 - a row that no longer parses is parked, not retried forever
            log.warning(
                "unparseable delivery parked", extra={"inbox_id": inbox_id, "error": str(err)}
            )
            await asyncio.to_thread(_mark, hand.db, inbox_id, "unparsed", None)
            continue
        if await hand(inbox_id, work) != "received":
            done += 1
    return done


async def relay_forever(hand: HandOver, settings: Any) -> None:
    """The API's background relay (every API replica runs one; a double hand-over is harmless)."""
    while True:
        try:
            await relay_pending(hand, settings)
        except Exception:  # noqa: BLE001 - keep relaying; the next round retries
            log.exception("inbox relay round failed")
        await asyncio.sleep(RELAY_EVERY_S)
