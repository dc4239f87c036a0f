"""Magento order pull (issue 19): ask each Magento store for its orders updated since the last
stored state, store each new state once in the webhook inbox (event id increment_id + updated_at,
shared with the Adobe Commerce webhooks) and hand it to its OnlineOrder with signal-with-start,
the path the web store webhooks take.

Each activity is safe to repeat: a state stored before is a duplicate and is not handed over
again (a state stored but never handed over is left to the API's inbox relay).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio import activity
from temporalio.client import Client
from temporalio.service import RPCError

from activities.web_store_notices import refused, unavailable
from contracts.errors import encode_errors
from contracts.magento import PROVIDER, PULL_TOPIC, StorePull, StorePulled
from contracts.online import (
    TASK_QUEUE as ORDER_QUEUE,
)
from contracts.online import (
    OnlineOrderRequest,
    WebStoreEvent,
    hand_over,
    online_order_workflow_id,
)
from db.repositories import inbox, magento, webstores
from db.session import Database
from domain.errors import DomainError
from domain.online_orders import timestamp_us
from integrations.magento import MagentoStorefront
from integrations.order_payloads import magento_event_id, magento_order, magento_version
from integrations.storefront import Storefront, StorefrontError, StorefrontUnavailable

MAX_EVENT_ID = 200  # webhook_inbox.event_id


@encode_errors
class MagentoPullActivities:
    """Built with the database, the Storefront factory, a Temporal client and the routing rules."""

    def __init__(
        self,
        db: Database,
        storefronts: Callable[[str], Storefront | None],
        client: Client,
        *,
        allow_split: bool = True,
        stores_first: bool = True,
        ship_to_store: bool = False,
        first_pull_hours: int = 24,
        order_queue: str = ORDER_QUEUE,
    ) -> None:
        self.db = db
        self.storefronts = storefronts
        self.client = client
        self.allow_split, self.stores_first, self.ship_to_store = (
            allow_split,
            stores_first,
            ship_to_store,
        )
        self.first_pull = timedelta(hours=first_pull_hours)
        self.order_queue = order_queue

    @activity.defn(name="magento.stores")
    async def stores(self) -> tuple[str, ...]:
        """The active Magento stores."""

        def read() -> tuple[str, ...]:
            with self.db.unit_of_work() as s:
                return tuple(st.code for st in webstores.stores(s, platforms=(PROVIDER,)))

        return await asyncio.to_thread(read)

    @activity.defn(name="magento.pull_orders")
    async def pull_orders(self, req: StorePull) -> StorePulled:
        """One store: pull, store once, hand over. 429 / 5xx / network retry the activity."""
        adapter = await asyncio.to_thread(self.storefronts, req.store_code)
        if not isinstance(adapter, MagentoStorefront):
            return StorePulled(store_code=req.store_code, seen=0, new=0)
        cursor = await asyncio.to_thread(self._cursor, req.store_code)
        try:
            orders = await asyncio.to_thread(adapter.orders_updated_since, cursor)
        except StorefrontUnavailable as err:
            raise unavailable(err) from err
        except StorefrontError as err:
            raise refused(err) from err
        new = unparsed = 0
        for body in orders:
            activity.heartbeat(body.get("increment_id"))
            outcome = await self._take(req.store_code, body)
            new += outcome != "duplicate"
            unparsed += outcome == "unparsed"
        return StorePulled(
            store_code=req.store_code, seen=len(orders), new=new, unparsed=unparsed, cursor=cursor
        )

    def _cursor(self, store_code: str) -> str:
        with self.db.unit_of_work() as s:
            cursor = magento.pull_cursor(s, store_code)
        if cursor:
            return cursor
        return (datetime.now(UTC) - self.first_pull).strftime("%Y-%m-%d %H:%M:%S")

    def _record(self, event_id: str, body: dict[str, Any], store_code: str) -> int | None:
        payload = {"store": store_code, "triggered_at": "", "body": body}
        with self.db.unit_of_work() as s:
            return inbox.record(
                s, provider=PROVIDER, event_id=event_id, topic=PULL_TOPIC, payload=payload
            )

    def _mark(self, inbox_id: int, status: str, workflow_id: str | None) -> None:
        with self.db.unit_of_work() as s:
            inbox.mark(s, inbox_id, status=status, workflow_id=workflow_id)

    async def _take(self, store_code: str, body: dict[str, Any]) -> str:
        """`duplicate`, `unparsed`, or the hand-over's status (a failed hand-over stays
        `received` for the relay)."""
        try:
            event_id = magento_event_id(store_code, body)
        except DomainError:
            return "unparsed"  # no id or no time: nothing to dedupe on, nothing stored
        if len(event_id) > MAX_EVENT_ID:
            return "unparsed"
        inbox_id = await asyncio.to_thread(self._record, event_id, body, store_code)
        if inbox_id is None:
            return "duplicate"
        try:
            order = magento_order(body)
            version = timestamp_us(magento_version(body))
        except (DomainError, ValueError, TypeError, ArithmeticError, AttributeError) as err:
            activity.logger.warning("unusable Magento order %s: %s", event_id, err)
            await asyncio.to_thread(self._mark, inbox_id, "unparsed", None)
            return "unparsed"
        workflow_id = online_order_workflow_id(PROVIDER, order.external_id, store_code)
        request = OnlineOrderRequest(
            source=PROVIDER,
            store_code=store_code,
            order=order,
            version_us=version,
            allow_split=self.allow_split,
            stores_first=self.stores_first,
            ship_to_store=self.ship_to_store,
        )
        event = WebStoreEvent(
            topic=PULL_TOPIC,
            version_us=version,
            cancelled=order.cancelled,
            financial_status=order.financial_status,
            status=order.status,
        )
        try:
            status = await hand_over(self.client, workflow_id, request, event, self.order_queue)
        except RPCError as err:
            activity.logger.warning("hand-over failed; the relay retries it: %s", err)
            return "received"
        await asyncio.to_thread(self._mark, inbox_id, status, workflow_id)
        return status
