"""An offline journal is checked against the server's own records, never taken on the till's word:
prices (versioned, re-priced as of the sale's time), the till's offline window, the store's offline
card limits, the stored card payment behind each card tender, and who rang the sale up."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from helpers.tills import login
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from temporalio.exceptions import ApplicationError

from activities.replay import ReplayActivities
from contracts.errors import from_failure
from contracts.replay import CardCapture, JournalLine
from contracts.sale import sale_workflow_id
from db.models import (
    Location,
    LocationTaxRate,
    Order,
    OrderLine,
    Payment,
    Price,
    Product,
    TaxCategory,
    Till,
    User,
    Variant,
)
from db.repositories import catalog, orders, tills
from db.session import Database
from domain.errors import InvalidRequest
from integrations.stripe_offline import StripeOfflineCapturer

CORA = ("1002", "2345")  # a cashier of the Berlin store


def fresh_till(db: Database) -> str:
    """A new till at the Berlin store: nothing it did before can blur what a test shows."""
    code = f"T{uuid.uuid4().hex[:6].upper()}"
    with db.unit_of_work() as s:
        ber = s.scalar(select(Location.id).where(Location.code == "BER"))
        assert ber is not None
        s.add(Till(code=code, location_id=ber, name=f"Till {code}", printer_url=""))
    return code


def new_product(db: Database, price: int) -> str:
    """A product of its own (its price changes in the test), no stock kept, priced from now."""
    sku = f"TRUST-{uuid.uuid4().hex[:8].upper()}"
    with db.unit_of_work() as s:
        tax = s.scalar(select(TaxCategory.id).where(TaxCategory.code == "standard"))
        assert tax is not None
        product = Product(code=sku, name=f"Trust {sku}", category="general", tax_category_id=tax)
        product.tracks_stock = False
        s.add(product)
        s.flush()
        s.add(Variant(product_id=product.id, sku=sku, name="", attributes={}))
        s.flush()
        catalog.change_price(s, sku, price, "EUR")
    return sku


def change_price(db: Database, sku: str, amount: int) -> None:
    with db.unit_of_work() as s:
        catalog.change_price(s, sku, amount, "EUR")


def entry(
    lines: list[tuple[str, int, int]],
    *,
    sold_at: datetime | None = None,
    cashier: str = "cora",
    tenders: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One offline sale as the till journals it; cash exactly covering what the till charged."""
    charged = sum(q * p for _, q, p in lines)
    return {
        "client_sale_id": f"trust-{uuid.uuid4().hex[:10]}",
        "sold_at": (sold_at or datetime.now(UTC)).isoformat(),
        "cashier": cashier,
        "lines": [{"sku": sku, "quantity": q, "unit_price": p} for sku, q, p in lines],
        "tenders": tenders or [{"kind": "cash", "amount": charged, "tendered": charged}],
        "total": charged,
        "change_due": 0,
    }


def card(amount: int, reference: str = "tok_term_trust") -> dict[str, Any]:
    return {
        "kind": "card",
        "amount": amount,
        "reference": reference,
        "brand": "VISA",
        "last4": "4242",
    }


async def upload(
    api: Any, till: str, auth: dict[str, str], sent: list[dict[str, Any]]
) -> dict[str, Any]:
    r = await api.post(
        f"/tills/{till}/journal",
        json={"batch_id": f"b-{uuid.uuid4().hex[:8]}", "entries": sent},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    return {e["client_sale_id"]: e for e in r.json()["entries"]}


def order_of(db: Database, till: str, cid: str) -> tuple[Order, list[OrderLine]] | None:
    with db.unit_of_work() as s:
        order = orders.order_by_workflow(s, sale_workflow_id(till, cid))
        if order is None:
            return None
        lines = list(s.scalars(select(OrderLine).where(OrderLine.order_id == order.id)))
        s.expunge_all()
        return order, lines


def till_row(db: Database, code: str) -> Till:
    with db.unit_of_work() as s:
        row = s.scalar(select(Till).where(Till.code == code))
        assert row is not None
        s.expunge(row)
        return row


@pytest.fixture
def card_limits(db: Database) -> Iterator[None]:
    """The Berlin store takes cards offline (50.00 a sale, 80.00 a till) for this test only."""
    with db.unit_of_work() as s:
        ber = tills.store_by_code(s, "BER")
        assert ber is not None
        before = tills.offline_card_policy(s, ber.id)
        tills.set_offline_card_policy(
            s, ber.id, enabled=True, per_sale_cap=5000, total_cap=8000, max_age_hours=24
        )
    yield
    with db.unit_of_work() as s:
        tills.set_offline_card_policy(
            s,
            ber.id,
            enabled=before.enabled,
            per_sale_cap=before.per_sale_cap,
            total_cap=before.total_cap,
            max_age_hours=int(before.max_age.total_seconds() // 3600),
        )


# ---- 1. prices have a history; an offline sale is priced as of its time --------------------------


def test_a_price_change_closes_the_current_row_and_keeps_it(db: Database) -> None:
    sku = new_product(db, 500)
    before_change = datetime.now(UTC)
    change_price(db, sku, 450)
    with db.unit_of_work() as s:
        ber = tills.store_by_code(s, "BER")
        assert ber is not None
        rows = s.execute(
            select(Price.amount, Price.valid_from, Price.valid_to)
            .join(Variant, Variant.id == Price.variant_id)
            .where(Variant.sku == sku)
            .order_by(Price.valid_from)
        ).all()
        assert [r.amount for r in rows] == [500, 450]  # the old row is kept...
        assert rows[0].valid_to == rows[1].valid_from and rows[1].valid_to is None  # ...closed
        assert catalog.items_by_sku(s, ber.id, [sku])[sku].unit_price == 450  # valid now
        assert catalog.items_by_sku(s, ber.id, [sku], before_change)[sku].unit_price == 500
        # A change from tomorrow leaves today's price; it holds from then on.
        tomorrow = datetime.now(UTC) + timedelta(days=1)
        catalog.change_price(s, sku, 470, "EUR", at=tomorrow)
        assert catalog.items_by_sku(s, ber.id, [sku])[sku].unit_price == 450
        later = tomorrow + timedelta(hours=1)
        assert catalog.items_by_sku(s, ber.id, [sku], later)[sku].unit_price == 470
        # History is never rewritten.
        with pytest.raises(InvalidRequest, match="past"):
            catalog.change_price(s, sku, 400, "EUR", at=before_change)


async def test_offline_sale_is_repriced_as_of_its_time_never_at_the_tills_word(api, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    till = fresh_till(db)
    auth = await login(api, till, *CORA)
    sku = new_product(db, 600)
    change_price(db, sku, 500)  # before the till downloads its catalogue
    snap = await api.get(f"/tills/{till}/catalog", headers=auth)
    assert snap.status_code == 200, snap.text
    assert next(i for i in snap.json()["items"] if i["sku"] == sku)["unit_price"] == 500
    served = till_row(db, till)
    assert served.snapshot_at is not None and served.last_contact_at is not None
    assert served.snapshot_at == datetime.fromisoformat(snap.json()["generated_at"])
    change_price(db, sku, 400)  # while the till is offline, the price goes down

    from_snapshot = entry([(sku, 1, 500)])  # what the till's catalogue said: it explains the price
    made_up = entry([(sku, 1, 300)])  # no catalogue ever had this price
    old_price = entry([(sku, 1, 600)])  # a price from before the till's snapshot
    short = entry([(sku, 1, 400)], tenders=[{"kind": "cash", "amount": 300, "tendered": 300}])
    got = await upload(api, till, auth, [from_snapshot, made_up, old_price, short])

    # Applied at the catalogue's price at the time (4.00), not the 5.00 the till journaled.
    assert got[from_snapshot["client_sale_id"]]["status"] == "applied"
    applied = order_of(db, till, from_snapshot["client_sale_id"])
    assert applied is not None
    order, lines = applied
    assert [ln.unit_price for ln in lines] == [400] and order.total == 400
    assert order.change_due == 100 and not order.warnings

    for sent, words in (
        (made_up, "the till charged 3.00"),
        (old_price, "the till charged 6.00"),
        (short, "still due"),
    ):
        result = got[sent["client_sale_id"]]
        assert result["status"] == "flagged" and words in result["message"], result
        assert order_of(db, till, sent["client_sale_id"]) is None  # never applied
    manager = await login(api, "BER1", "9001", "9001")
    flagged = (await api.get("/stores/BER/offline-sales/flagged", headers=manager)).json()
    assert {f["client_sale_id"] for f in flagged} >= {
        made_up["client_sale_id"],
        old_price["client_sale_id"],
        short["client_sale_id"],
    }


async def test_offline_sale_is_taxed_at_the_rate_of_its_time_not_of_its_upload(api, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    till = fresh_till(db)
    auth = await login(api, till, *CORA)
    now = datetime.now(UTC)
    last_seen = now - timedelta(minutes=30)
    code, sku = f"t-{uuid.uuid4().hex[:8]}", f"TAXED-{uuid.uuid4().hex[:8].upper()}"
    with db.unit_of_work() as s:  # a tax category of its own: no other test sees its change
        ber = s.scalar(select(Location.id).where(Location.code == "BER"))
        assert ber is not None
        category = TaxCategory(code=code, name=code)
        s.add(category)
        s.flush()
        s.add(
            LocationTaxRate(
                location_id=ber,
                tax_category_id=category.id,
                rate_bp=1900,
                valid_from=now - timedelta(days=1),
            )
        )
        product = Product(code=sku, name=sku, category="test", tax_category_id=category.id)
        product.tracks_stock = False
        s.add(product)
        s.flush()
        variant = Variant(product_id=product.id, sku=sku, name="", attributes={})
        s.add(variant)
        s.flush()
        s.add(
            Price(
                variant_id=variant.id,
                amount=1190,
                currency="EUR",
                valid_from=now - timedelta(days=1),
            )
        )
        # The till last called 30 minutes ago and sold offline since.
        s.execute(
            update(Till)
            .where(Till.code == till)
            .values(last_contact_at=last_seen, offline_from=now - timedelta(hours=3))
        )
    sold_before = entry([(sku, 1, 1190)], sold_at=now - timedelta(minutes=10))
    with db.unit_of_work() as s:  # while the till is offline, the rate goes down from 19 % to 7 %
        catalog.change_tax_rate(s, ber, code, 700)
    sold_after = entry([(sku, 1, 1190)], sold_at=datetime.now(UTC))  # after the change began
    got = await upload(api, till, auth, [sold_before, sold_after])

    taxed = {}
    for sent in (sold_before, sold_after):
        assert got[sent["client_sale_id"]]["status"] == "applied", got[sent["client_sale_id"]]
        applied = order_of(db, till, sent["client_sale_id"])
        assert applied is not None
        order, lines = applied
        assert [ln.unit_price for ln in lines] == [1190] and order.total == 1190
        taxed[sent["client_sale_id"]] = ([ln.tax_rate_bp for ln in lines], order.tax_total)
    # Prices include tax at the Berlin store: 11.90 holds 1.90 at 19 % and 0.78 at 7 %.
    assert taxed[sold_before["client_sale_id"]] == ([1900], 190)  # the rate at its sold_at
    assert taxed[sold_after["client_sale_id"]] == ([700], 78)  # the rate in force since


# ---- 2. the offline window -------------------------------------------------------------------


async def test_sold_at_outside_the_tills_offline_window_is_flagged(api, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    till = fresh_till(db)
    auth = await login(api, till, *CORA)
    now = datetime.now(UTC)
    last_seen = now - timedelta(minutes=30)
    with db.unit_of_work() as s:  # the till last called 30 minutes ago and has been quiet since
        s.execute(
            update(Till)
            .where(Till.code == till)
            .values(last_contact_at=last_seen, offline_from=now - timedelta(hours=3))
        )
    price = 350  # CARD-GREETING, priced since the demo shop opened
    inside = entry([("CARD-GREETING", 1, price)], sold_at=now - timedelta(minutes=10))
    skewed = entry([("CARD-GREETING", 1, price)], sold_at=last_seen - timedelta(minutes=1))
    before = entry([("CARD-GREETING", 1, price)], sold_at=last_seen - timedelta(minutes=10))
    too_old = entry([("CARD-GREETING", 1, price)], sold_at=now - timedelta(hours=25))
    future = entry([("CARD-GREETING", 1, price)], sold_at=now + timedelta(minutes=3))
    got = await upload(api, till, auth, [inside, skewed, before, too_old, future])

    # The upload is a contact after a silence: the window starts at the call before it.
    seen = till_row(db, till)
    assert seen.offline_from == last_seen and seen.last_contact_at is not None
    assert seen.last_contact_at > now - timedelta(seconds=5)

    assert got[inside["client_sale_id"]]["status"] == "applied"
    assert got[skewed["client_sale_id"]]["status"] == "applied"  # within the 2 min clock skew
    for sent, words in (
        (before, "before the till's last contact"),
        (too_old, "older than the 24 h"),
        (future, "in the future"),
    ):
        result = got[sent["client_sale_id"]]
        assert result["status"] == "flagged" and words in result["message"], result
        assert order_of(db, till, sent["client_sale_id"]) is None


# ---- 3. the store's offline card limits, on the server too --------------------------------------


async def test_offline_card_limits_are_enforced_on_replay(api, db, card_limits) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    till = fresh_till(db)
    auth = await login(api, till, *CORA)
    big, forty, thirty, twenty = (new_product(db, p) for p in (6000, 4000, 3000, 2000))
    t0 = datetime.now(UTC)  # sold one after the other (just now), after the prices began

    def at(n: int) -> datetime:
        return t0 + timedelta(milliseconds=10 * n)

    first = entry([(forty, 1, 4000)], sold_at=at(1), tenders=[card(4000)])
    second = entry([(thirty, 1, 3000)], sold_at=at(2), tenders=[card(3000)])
    over_total = entry([(twenty, 1, 2000)], sold_at=at(3), tenders=[card(2000)])
    over_cap = entry([(big, 1, 6000)], sold_at=at(4), tenders=[card(6000)])
    await asyncio.sleep(0.1)  # uploaded after the last one was sold
    got = await upload(api, till, auth, [over_cap, first, second, over_total])
    # 40.00 + 30.00 on cards held on the till: 20.00 more goes over the 80.00 a till may hold.
    assert got[over_total["client_sale_id"]]["status"] == "flagged"
    assert "already holds 70.00" in got[over_total["client_sale_id"]]["message"]
    assert got[over_cap["client_sale_id"]]["status"] == "flagged"
    assert "at most 50.00 per sale" in got[over_cap["client_sale_id"]]["message"]
    for ok in (first, second):  # within the limits: applied (their tokens are collected later)
        assert got[ok["client_sale_id"]]["status"] == "applied", got[ok["client_sale_id"]]

    with db.unit_of_work() as s:
        ber = tills.store_by_code(s, "BER")
        assert ber is not None
        tills.set_offline_card_policy(
            s, ber.id, enabled=False, per_sale_cap=5000, total_cap=8000, max_age_hours=24
        )
    later = entry([(twenty, 1, 2000)], tenders=[card(2000)])
    again = await upload(api, till, auth, [later])
    assert again[later["client_sale_id"]]["status"] == "flagged"
    assert "not available while the till is offline" in again[later["client_sale_id"]]["message"]
    for sent in (over_cap, over_total, later):
        assert order_of(db, till, sent["client_sale_id"]) is None


# ---- 4. a stored card payment must be this sale's, and used once ------------------------------


def stored_payment(gateway, amount: int, metadata: dict[str, str], currency: str = "EUR") -> str:  # type: ignore[no-untyped-def]  # takes the untyped gateway fixture
    """A payment the terminal stored offline: authorized, waiting to be captured."""
    intent = gateway.create_intent(
        amount=amount,
        currency=currency,
        key=f"t:{uuid.uuid4().hex}",
        card_present=True,
        metadata=metadata,
    )
    return str(
        gateway.attach_and_confirm(intent.id, "pm_card_visa", key=f"t:{uuid.uuid4().hex}").id
    )


def unconfirmed_payment(gateway, amount: int, metadata: dict[str, str]) -> str:  # type: ignore[no-untyped-def]  # takes the untyped gateway fixture
    """A payment that was never authorized: a card is attached but nobody confirmed it, so the
    provider holds it as requires_confirmation, nothing a terminal stores offline."""
    intent = gateway.create_intent(
        amount=amount,
        currency="EUR",
        key=f"t:{uuid.uuid4().hex}",
        card_present=True,
        metadata=metadata,
    )
    gateway.client.v1.payment_intents.update(intent.id, {"payment_method": "pm_card_visa"})
    assert gateway.retrieve_intent(intent.id).status == "requires_confirmation"
    return str(intent.id)


def capture_cmd(db: Database, reference: str, amount: int = 2500) -> CardCapture:
    with db.unit_of_work() as s:
        till = catalog.till_view(s, "BER2")
        assert till is not None
    cid = f"card-{uuid.uuid4().hex[:8]}"
    return CardCapture(
        sale_workflow_id=sale_workflow_id("BER2", cid),
        number=1,
        till_code="BER2",
        till_id=till.till_id,
        location_id=till.location_id,
        client_sale_id=cid,
        amount=amount,
        currency="EUR",
        reference=reference,
        brand="VISA",
        last4="4242",
        sold_at=datetime.now(UTC),
        lines=(JournalLine(sku="TEA-BLACK", quantity=1, unit_price=amount),),
        total=amount,
    )


def refusal_of(acts: ReplayActivities, cmd: CardCapture) -> str:
    with pytest.raises(ApplicationError) as err:
        acts.capture_card(cmd)
    found = from_failure(err.value)
    assert isinstance(found, InvalidRequest), err.value
    return found.message


def test_a_stored_card_payment_must_be_this_sales_and_is_used_once(db, gateway) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    acts = ReplayActivities(db, StripeOfflineCapturer(gateway))

    def ours(cmd: CardCapture) -> dict[str, str]:
        return {"till": cmd.till_code, "client_sale_id": cmd.client_sale_id}

    # The right one: captured.
    cmd = capture_cmd(db, "")
    cmd = replace(cmd, reference=stored_payment(gateway, 2500, ours(cmd)))
    captured = acts.capture_card(cmd)
    assert captured.approved and captured.provider_ref == cmd.reference
    assert gateway.retrieve_intent(cmd.reference).status == "succeeded"

    # Each mismatch is refused before anything is captured.
    cases = []
    cmd = capture_cmd(db, "")
    cases.append((replace(cmd, reference=stored_payment(gateway, 1500, ours(cmd))), "is for 15.00"))
    cmd = capture_cmd(db, "")
    cases.append(
        (replace(cmd, reference=stored_payment(gateway, 2500, ours(cmd), "USD")), "is in USD")
    )
    cmd = capture_cmd(db, "")
    other_till = {"till": "LIS1", "client_sale_id": cmd.client_sale_id}
    cases.append(
        (replace(cmd, reference=stored_payment(gateway, 2500, other_till)), "belongs to till LIS1")
    )
    cmd = capture_cmd(db, "")
    cases.append((replace(cmd, reference=stored_payment(gateway, 2500, {})), "belongs to no till"))
    for bad, words in cases:
        assert words in refusal_of(acts, bad)
        assert gateway.retrieve_intent(bad.reference).status == "requires_capture"  # untouched

    # This sale's own payment, but in no state a stored payment is in (never authorized): refused,
    # neither captured nor confirmed, and no collection task either.
    cmd = capture_cmd(db, "")
    cmd = replace(cmd, reference=unconfirmed_payment(gateway, 2500, ours(cmd)))
    assert "is requires_confirmation, not a stored payment" in refusal_of(acts, cmd)
    assert gateway.retrieve_intent(cmd.reference).status == "requires_confirmation"
    # A canceled one holds no money: never captured, the amount is collected from the customer.
    cmd = capture_cmd(db, "")
    cmd = replace(cmd, reference=stored_payment(gateway, 2500, ours(cmd)))
    gateway.cancel(cmd.reference, key=f"t:{uuid.uuid4().hex}")
    canceled = acts.capture_card(cmd)
    assert not canceled.approved and canceled.collection_task_id and not canceled.provider_ref
    assert gateway.retrieve_intent(cmd.reference).status == "canceled"

    # Already recorded for another payment row: refused, never captured again for this sale.
    cmd = capture_cmd(db, "")
    cmd = replace(cmd, reference=stored_payment(gateway, 2500, ours(cmd)))
    with db.unit_of_work() as s:
        orders.insert_payment(
            s,
            orders.NewPayment(
                workflow_id="sale:BER1:somebody-else",
                tender="card",
                amount=2500,
                tendered=2500,
                currency="EUR",
                status="authorized",
                idempotency_key=f"test:{uuid.uuid4().hex}",
                location_id=cmd.location_id,
                till_id=None,
                provider="stripe",
                provider_ref=cmd.reference,
            ),
        )
    assert "already paid for sale:BER1:somebody-else" in refusal_of(acts, cmd)
    # ...and the database itself holds one card payment row per PaymentIntent.
    with pytest.raises(IntegrityError), db.unit_of_work() as s:
        orders.insert_payment(
            s,
            orders.NewPayment(
                workflow_id=cmd.sale_workflow_id,
                tender="card",
                amount=2500,
                tendered=2500,
                currency="EUR",
                status="captured",
                idempotency_key=f"test:{uuid.uuid4().hex}",
                location_id=cmd.location_id,
                till_id=cmd.till_id,
                provider="stripe",
                provider_ref=cmd.reference,
            ),
        )

    # A decline of this sale's own payment is still a "collect from customer" task.
    cmd = capture_cmd(db, "")
    intent = gateway.create_intent(
        amount=2500,
        currency="EUR",
        key=f"t:{uuid.uuid4().hex}",
        card_present=True,
        metadata=ours(cmd),
    )
    declined = gateway.attach_and_confirm(
        intent.id, "pm_card_chargeCustomerFail", key=f"t:{uuid.uuid4().hex}"
    )
    outcome = acts.capture_card(replace(cmd, reference=declined.id))
    assert not outcome.approved and outcome.collection_task_id


async def test_a_card_tender_with_someone_elses_payment_is_flagged_not_applied(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, db, gateway, card_limits
) -> None:
    till = fresh_till(db)
    auth = await login(api, till, *CORA)
    sku = new_product(db, 2500)
    good = entry([(sku, 1, 2500)], tenders=[card(2500)])
    good["tenders"][0]["reference"] = stored_payment(
        gateway, 2500, {"till": till, "client_sale_id": good["client_sale_id"]}
    )
    cheaper = entry([(sku, 1, 2500)], tenders=[card(2500)])
    cheaper["tenders"][0]["reference"] = stored_payment(
        gateway, 2000, {"till": till, "client_sale_id": cheaper["client_sale_id"]}
    )
    reused = entry([(sku, 1, 2500)], tenders=[card(2500, good["tenders"][0]["reference"])])
    unconfirmed = entry([(sku, 1, 2500)], tenders=[card(2500)])
    unconfirmed["tenders"][0]["reference"] = unconfirmed_payment(
        gateway, 2500, {"till": till, "client_sale_id": unconfirmed["client_sale_id"]}
    )
    got = await upload(api, till, auth, [good, cheaper, unconfirmed])
    assert got[good["client_sale_id"]]["status"] == "applied", got
    with db.unit_of_work() as s:
        pays = s.scalars(
            select(Payment).where(
                Payment.workflow_id == sale_workflow_id(till, good["client_sale_id"])
            )
        ).all()
        assert [(p.tender, p.status, p.provider_ref) for p in pays] == [
            ("card", "captured", good["tenders"][0]["reference"])
        ]
    assert got[cheaper["client_sale_id"]]["status"] == "flagged"
    assert "is for 20.00" in got[cheaper["client_sale_id"]]["message"]
    assert gateway.retrieve_intent(cheaper["tenders"][0]["reference"]).status == "requires_capture"
    # Its own payment, but one that was never authorized: flagged, the payment left as it was.
    assert got[unconfirmed["client_sale_id"]]["status"] == "flagged"
    assert "is requires_confirmation" in got[unconfirmed["client_sale_id"]]["message"]
    assert (
        gateway.retrieve_intent(unconfirmed["tenders"][0]["reference"]).status
        == "requires_confirmation"
    )

    again = await upload(api, till, auth, [reused])
    assert again[reused["client_sale_id"]]["status"] == "flagged"
    assert "belongs to till" in again[reused["client_sale_id"]]["message"]
    for sent in (cheaper, unconfirmed, reused):
        assert order_of(db, till, sent["client_sale_id"]) is None


# ---- 5. who rang it up: a user of the store who signed in at that till -------------------------


async def test_the_cashier_must_have_signed_in_at_that_till(api, db, cashier) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    till = fresh_till(db)
    auth = await login(api, till, *CORA)  # cora signs in here; carl is signed in at BER1 only
    sold = [
        entry([("CARD-GREETING", 1, 350)], cashier=name)
        for name in ("cora", "carl", "luis", "nobody-at-all")
    ]
    got = await upload(api, till, auth, sold)
    ok, other_till, other_store, unknown = (got[e["client_sale_id"]] for e in sold)
    assert ok["status"] == "applied", ok
    applied = order_of(db, till, sold[0]["client_sale_id"])
    with db.unit_of_work() as s:
        cora = s.scalar(select(User.id).where(User.username == "cora"))
    assert applied is not None and applied[0].cashier_id == cora
    assert other_till["status"] == "flagged" and "did not sign in at till" in other_till["message"]
    for result, name in ((other_store, "luis"), (unknown, "nobody-at-all")):
        assert result["status"] == "flagged", result
        assert f"'{name}' is no cashier or manager of store BER" in result["message"]
    for sent in sold[1:]:
        assert order_of(db, till, sent["client_sale_id"]) is None  # never the uploader's sale
