"""Outbound events end to end on the dev server: subscriptions through the API, delivery to a
local receiver that verifies signatures, order per entity, redelivery deduped by id, rotation, and
events written in the business change's own transaction."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from helpers.api import password_login
from helpers.catalog import make_user
from helpers.event_receiver import EventReceiver
from helpers.webstore import eventually, new_product, new_sku
from sqlalchemy import select
from temporalio.client import Client

from activities.cash_sale import CashSaleActivities
from contracts.events import event_delivery_workflow_id
from contracts.sale import BasketLine, CashCheckout, SaleRequest, TenderIn, sale_workflow_id
from db.models import Location, StockMovement
from db.models_events import OutboxEvent
from db.repositories import catalog_outbox, events, online_orders, orders, stock
from db.session import Database
from domain.events import EVENT_TYPES, Event
from domain.pricing import PricedLine

pytestmark = pytest.mark.usefixtures("events_worker")


async def _subscribe(
    eapi: Any, admin: dict[str, str], url: str, types: list[str]
) -> dict[str, Any]:
    code = f"sub-{uuid.uuid4().hex[:8]}"
    r = await eapi.post(
        "/events/subscriptions",
        json={"code": code, "url": url, "event_types": types, "description": "test"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def _stop(client: Client, eapi: Any, admin: dict[str, str], code: str) -> None:
    r = await eapi.delete(f"/events/subscriptions/{code}", headers=admin)
    assert r.status_code == 200 and r.json()["active"] is False
    await client.get_workflow_handle(event_delivery_workflow_id(code)).result()  # it ends


async def test_subscriptions_are_admin_only_validated_and_show_the_secret_once(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    eapi, admin, db, temporal_client, receiver
) -> None:
    manager = await password_login(eapi, *make_user(db, "manager", ["catalog"]))
    body = {"code": "nope", "url": receiver.url, "event_types": ["*"]}
    assert (await eapi.post("/events/subscriptions", json=body, headers=manager)).status_code == 403
    assert (await eapi.get("/events/subscriptions", headers=manager)).status_code == 403
    bad = await eapi.post(
        "/events/subscriptions", json={**body, "event_types": ["order.eaten"]}, headers=admin
    )
    assert bad.status_code == 422 and "order.eaten" in bad.text
    bad = await eapi.post(
        "/events/subscriptions", json={**body, "url": "gopher://x"}, headers=admin
    )
    assert bad.status_code == 422

    key = {"Idempotency-Key": uuid.uuid4().hex}
    code = f"sub-{uuid.uuid4().hex[:8]}"
    first = await eapi.post(
        "/events/subscriptions",
        json={"code": code, "url": receiver.url, "event_types": ["stock.changed"]},
        headers={**admin, **key},
    )
    assert first.status_code == 201, first.text
    secret = first.json()["secret"]
    assert secret.startswith("whsec_") and len(secret) > 30
    again = await eapi.post(
        "/events/subscriptions",
        json={"code": code, "url": receiver.url, "event_types": ["stock.changed"]},
        headers={**admin, **key},
    )
    assert again.status_code == 201 and again.json()["code"] == code
    assert again.json()["secret"] != secret and secret[-4:] in again.json()["secret"]
    dup = await eapi.post(
        "/events/subscriptions",
        json={"code": code, "url": receiver.url, "event_types": ["*"]},
        headers=admin,
    )
    assert dup.status_code == 409
    listed = (await eapi.get("/events/subscriptions", headers=admin)).json()["items"]
    mine = next(s for s in listed if s["code"] == code)
    assert mine["secret"] != secret and mine["event_types"] == ["stock.changed"]
    assert mine["workflow_id"] == f"events:{code}"
    assert (await eapi.get("/events/subscriptions/none-such", headers=admin)).status_code == 404
    await _stop(temporal_client, eapi, admin, code)


@pytest.fixture
def subscribed(db: Database):  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """A subscription to every event type for the test (an outbox row is written only for types
    some active subscription wants); switched off after it."""
    code = f"all-{uuid.uuid4().hex[:8]}"
    with db.unit_of_work() as s:
        events.add_subscription(
            s,
            code=code,
            url="https://receiver.example.test/hook",
            event_types=EVENT_TYPES,
            secret="whsec_" + "t" * 32,
            description="test: every type",
        )
    yield code
    with db.unit_of_work() as s:
        events.update_subscription(s, code, active=False)


def test_a_change_nobody_subscribed_to_writes_no_outbox_row(db: Database) -> None:
    with db.unit_of_work() as s:
        taken = {t for v in events.subscriptions(s, active_only=True) for t in v.event_types}
    if "product.changed" in taken:
        pytest.skip("another test's subscription takes product.changed right now")
    with db.unit_of_work() as s:
        change = catalog_outbox.record(s, f"P-NOBODY-{uuid.uuid4().hex[:6]}", fields=["title"])
        ev_id = Event(type="product.changed", entity="", key=f"catalog:{change}").event_id
        assert s.scalar(select(OutboxEvent).where(OutboxEvent.event_id == ev_id)) is None


def _emit(db: Database, event: Event) -> None:
    with db.unit_of_work() as s:
        events.emit(s, event)


async def test_delivery_is_signed_in_order_per_entity_and_redelivery_keeps_the_id(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    eapi, admin, db, temporal_client, receiver: EventReceiver
) -> None:
    sub = await _subscribe(eapi, admin, receiver.url, ["order.updated", "stock.changed"])
    receiver.secrets = [sub["secret"]]
    run = uuid.uuid4().hex[:8]
    a, b = f"order:test:{run}:A", f"stock:TEST:{run}"
    sent: list[Event] = []
    for n in range(4):
        for entity, kind in ((a, "order.updated"), (b, "stock.changed")):
            ev = Event(type=kind, entity=entity, key=f"{entity}:{n}", data={"n": n})  # type: ignore[arg-type]  # one of the two literals
            sent.append(ev)
            _emit(db, ev)
    _emit(db, Event(type="shift.closed", entity=f"shift:{run}", key=run))  # not subscribed
    receiver.fail_first[sent[2].event_id] = 1  # A's second: processed, answer lost

    def mine() -> list[Any]:
        return [d for d in receiver.accepted() if d.entity in (a, b)]

    await eventually(lambda: len(mine()) == 8, timeout=30)
    for entity in (a, b):
        got = [d.body["data"]["n"] for d in mine() if d.entity == entity]
        assert got == [0, 1, 2, 3], (entity, got)
    assert all(d.verified_with == (sub["secret"],) for d in receiver.deliveries)
    twice = [d for d in receiver.deliveries if d.event_id == sent[2].event_id]
    assert [d.status for d in twice] == [503, 200]  # delivered again, same id
    assert len({d.event_id for d in mine()}) == 8 and sent[2].event_id in receiver.processed
    body = mine()[0].body
    assert body["version"] == 1 and body["id"].startswith("evt_") and "created" in body
    assert not [d for d in receiver.deliveries if d.entity == f"shift:{run}"]

    # Rotation: for the overlap, every delivery carries a v1 for the new and for the old secret.
    old = sub["secret"]
    r = await eapi.post(
        f"/events/subscriptions/{sub['code']}/rotate-secret",
        json={"overlap_hours": 1},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    new = r.json()["secret"]
    assert new != old and r.json()["previous_secret_valid_until"] is not None
    receiver.secrets = [old, new]
    _emit(db, Event(type="stock.changed", entity=b, key=f"{b}:rotated", data={"n": 4}))
    rotated = await eventually(
        lambda: next((d for d in receiver.accepted() if d.body["data"].get("n") == 4), None)
    )
    assert rotated.verified_with == (old, new) and rotated.signature.count("v1=") == 2
    r = await eapi.post(
        f"/events/subscriptions/{sub['code']}/rotate-secret",
        json={"overlap_hours": 0},
        headers=admin,
    )
    newest = r.json()["secret"]
    receiver.secrets = [new, newest]
    _emit(db, Event(type="stock.changed", entity=b, key=f"{b}:rotated-again", data={"n": 5}))
    last = await eventually(
        lambda: next((d for d in receiver.accepted() if d.body["data"].get("n") == 5), None)
    )
    assert last.verified_with == (newest,)  # no overlap: the previous secret signs no more
    await _stop(temporal_client, eapi, admin, sub["code"])


@pytest.mark.usefixtures("subscribed")
def test_business_changes_write_their_event_in_the_same_transaction(db: Database) -> None:
    sku = new_product(db, {}, sku=new_sku("EVT"))
    with db.unit_of_work() as s:
        ber = s.scalar(select(Location.id).where(Location.code == "BER"))
        assert ber is not None
    move = stock.Movement(
        sku=sku, delta=3, reason="test", reference=sku, idempotency_key=f"test:{sku}:events"
    )
    ev_id = Event(type="stock.changed", entity="", key=move.idempotency_key).event_id

    class Boom(Exception):
        pass

    with pytest.raises(Boom), db.unit_of_work() as s:
        stock.apply_movements(s, ber, [move], workflow_id=None, occurred_at=datetime.now(UTC))
        raise Boom
    with db.unit_of_work() as s:
        assert s.scalar(select(OutboxEvent).where(OutboxEvent.event_id == ev_id)) is None
    for _ in range(2):  # a retry applies nothing and emits nothing new
        with db.unit_of_work() as s:
            stock.apply_movements(s, ber, [move], workflow_id=None, occurred_at=datetime.now(UTC))
    with db.unit_of_work() as s:
        rows = list(s.scalars(select(OutboxEvent).where(OutboxEvent.event_id == ev_id)))
        assert len(rows) == 1 and rows[0].type == "stock.changed"
        assert rows[0].entity == f"stock:BER:{sku}" and rows[0].data["on_hand"] == 3
        change = catalog_outbox.record(s, f"P-{sku}", fields=["title"])
        product = s.scalar(
            select(OutboxEvent).where(
                OutboxEvent.type == "product.changed", OutboxEvent.entity == f"product:P-{sku}"
            )
        )
        assert product is not None and product.data["fields"] == ["title"]
        assert (
            product.event_id
            == Event(type="product.changed", entity="", key=f"catalog:{change}").event_id
        )


@pytest.mark.usefixtures("subscribed")
def test_a_cash_sale_emits_sale_completed_and_stock_changed_once(db: Database) -> None:
    """The real checkout activity, run twice (a local activity retried after its commit)."""
    wf_id = sale_workflow_id("BER1", uuid.uuid4().hex[:12])
    cmd = CashCheckout(
        workflow_id=wf_id,
        request=SaleRequest(
            till_code="BER1",
            client_sale_id=wf_id.split(":")[-1],
            cashier_id=1,
            lines=(BasketLine(sku="KEYRING", quantity=1),),
            tenders=(TenderIn(kind="cash", amount=5000),),
        ),
        sold_at=datetime.now(UTC),
    )
    acts = CashSaleActivities(db)
    first = acts.checkout(cmd)
    acts.checkout(cmd)
    assert first.recorded is not None
    with db.unit_of_work() as s:
        sale = list(
            s.scalars(
                select(OutboxEvent).where(
                    OutboxEvent.type == "sale.completed", OutboxEvent.entity == f"order:{wf_id}"
                )
            )
        )
        assert len(sale) == 1
        data = sale[0].data
        assert data["number"] == first.recorded.number and data["total"] == first.priced.total
        assert data["tenders"] == [{"kind": "cash", "amount": first.priced.total}]
        assert [ln["sku"] for ln in data["lines"]] == ["KEYRING"]
        moved = list(
            s.scalars(
                select(OutboxEvent).where(
                    OutboxEvent.type == "stock.changed",
                    OutboxEvent.entity == "stock:BER:KEYRING",
                    OutboxEvent.occurred_at >= sale[0].occurred_at,
                )
            )
        )
        keys = {
            m.idempotency_key
            for m in s.scalars(select(StockMovement).where(StockMovement.workflow_id == wf_id))
        }
        ids = {Event(type="stock.changed", entity="", key=str(k)).event_id for k in keys}
        assert len(keys) == 1 and [m.data["delta"] for m in moved if m.event_id in ids] == [-1]


@pytest.mark.usefixtures("subscribed")
def test_an_online_order_emits_created_then_one_event_per_status(db: Database) -> None:
    sku = new_product(db, {}, sku=new_sku("EVO"))
    wf_id = f"order:web:{uuid.uuid4().hex[:10]}"
    new = orders.NewOrder(
        workflow_id=wf_id,
        number_prefix="WEB",
        channel="web",
        fulfilment_type="ship",
        status="received",
        location_id=None,
        till_id=None,
        cashier_id=None,
        currency="EUR",
        subtotal=840,
        tax_total=160,
        total=1000,
        change_due=0,
        warnings=[],
        placed_at=datetime.now(UTC),
        lines=[PricedLine(1, sku, "Test", 1, 1000, 840, 160, 1000, "standard", 1900)],
    )
    for _ in range(2):  # the activity retried: one order, one event
        with db.unit_of_work() as s:
            number = online_orders.record(s, new, source="web", external_id=wf_id)
    for status in ("accepted", "fulfilling", "fulfilling", "completed"):
        with db.unit_of_work() as s:
            online_orders.set_status(s, wf_id, status)
    with db.unit_of_work() as s:
        got = [
            (e.type, e.data["status"])
            for e in s.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.entity == f"order:{wf_id}")
                .order_by(OutboxEvent.id)
            )
        ]
        first = s.scalar(
            select(OutboxEvent)
            .where(OutboxEvent.entity == f"order:{wf_id}")
            .order_by(OutboxEvent.id)
            .limit(1)
        )
        assert first is not None and first.data["number"] == number
        assert first.data["lines"] == [{"line_no": 1, "sku": sku, "name": "Test", "quantity": 1}]
    assert got == [
        ("order.created", "received"),
        ("order.updated", "accepted"),
        ("order.updated", "fulfilling"),
        ("order.fulfilled", "completed"),
    ]
