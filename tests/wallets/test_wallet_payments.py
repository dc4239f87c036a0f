"""Apple Pay / Google Pay / Samsung Pay: the wallet comes from Stripe's charge only (Terminal's
`card_present.wallet.type`, online `card.wallet.type`), is kept on the payment, printed on the
receipt and split out in the sales report. Stripe runs as FakeStripeWallets (Stripe's documented
shapes; localstripe has no wallet charges) behind the real StripeGateway and SDK."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from temporalio.client import WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.testing import ActivityEnvironment
from temporalio.worker import Replayer

from activities.online_payments import OnlinePaymentActivities, payment_key
from activities.receipts import _tender_detail, receipt_for_order
from activities.tenders import TenderActivities, tender_key
from contracts.devices import SALE_DEVICES_ACTIVITY, SaleDevices
from contracts.online import PaymentRequest
from contracts.sale import (
    CHECKOUT_UPDATE,
    AddTenders,
    BasketLine,
    SaleMoney,
    SaleRequest,
    SaleResult,
    TenderAttempt,
    TenderIn,
    sale_workflow_id,
)
from db.models import Location, Payment, Till
from db.repositories import orders
from db.session import Database
from domain.wallets import wallet_label, wallet_type
from integrations.stripe_gateway import SimulatedReader, StripeGateway, make_client
from reports import registry
from reports.base import ReportParams
from reports.registry import ReportContext
from reports.wallets import PLAIN_CARD
from tillflow.payloads import DATA_CONVERTER
from tillflow.workers import sales_worker
from wallets.fake_stripe_wallets import FakeStripeWallets, fixture
from workflows.sale import SaleWorkflow

DAY = date(2024, 7, 3)
AT = datetime(2024, 7, 3, 9, 15, tzinfo=UTC)


@pytest.fixture
def stripe_fake() -> Iterator[FakeStripeWallets]:
    server = FakeStripeWallets().start()
    server.add_method("pm_tap_apple_pay", fixture("card_present_apple_pay.json"))
    server.add_method("pm_tap_plain", fixture("card_present_plain.json"))
    server.add_method("pm_web_google_pay", fixture("card_google_pay.json"))
    server.add_method("pm_web_plain", fixture("card_plain.json"))
    yield server
    server.stop()


@pytest.fixture
def gateway(stripe_fake: FakeStripeWallets) -> StripeGateway:
    return StripeGateway(make_client("sk_test_wallets", stripe_fake.url))


def _store(db: Database) -> tuple[str, int, int, str]:
    """A store of this test's own with a till: (store code, location id, till id, till code)."""
    tag = uuid.uuid4().hex[:8]
    with db.unit_of_work() as s:
        loc = Location(
            code=f"WS{tag}", name="Wallet store", kind="store", timezone="Europe/Berlin",
            currency="EUR", shift_required=False,
        )  # fmt: skip
        s.add(loc)
        s.flush()
        till = Till(code=f"WT{tag}", location_id=loc.id, name="Till")
        s.add(till)
        s.flush()
        return loc.code, loc.id, till.id, till.code


def _tap(
    db: Database, gateway: StripeGateway, store: tuple[str, int, int, str], card: str, amount: int
) -> str:
    """A till sale of `amount` paid by a tap of `card` on the reader: the tender activity, its
    capture and the recorded order; returns the workflow id."""
    _, location_id, till_id, till_code = store
    wf = f"sale:wallet:{uuid.uuid4().hex}"
    acts = TenderActivities(db, gateway, lambda _till: SimulatedReader(gateway, card))
    attempt = TenderAttempt(
        workflow_id=wf, number=1, kind="card", amount=amount, tendered=amount, currency="EUR",
        till_code=till_code, till_id=till_id, location_id=location_id,
    )  # fmt: skip
    result = ActivityEnvironment().run(acts.card, attempt)
    assert result.approved, result.message
    assert ActivityEnvironment().run(acts.capture_cards, SaleMoney(workflow_id=wf)) == 1
    _order(db, wf, location_id, till_id, amount)
    return wf


def _order(db: Database, wf: str, location_id: int, till_id: int | None, amount: int) -> str:
    with db.unit_of_work() as s:
        added = orders.add_order(
            s,
            orders.NewOrder(
                workflow_id=wf, number_prefix="WS", channel="store" if till_id else "web",
                fulfilment_type="in_store", status="completed", location_id=location_id,
                till_id=till_id, cashier_id=None, currency="EUR", subtotal=amount, tax_total=0,
                total=amount, change_due=0, warnings=[], placed_at=AT, lines=[],
            ),
        )  # fmt: skip
        assert added is not None
        return added.number


def _payment(db: Database, key: str) -> Payment:
    with db.unit_of_work() as s:
        row = s.scalar(select(Payment).where(Payment.idempotency_key == key))
        assert row is not None
        s.expunge(row)
        return row


def test_stripe_wallet_types_and_labels() -> None:
    assert wallet_type(fixture("card_present_apple_pay.json")["card_present"]) == "apple_pay"
    assert wallet_type(fixture("card_google_pay.json")["card"]) == "google_pay"
    assert wallet_type(fixture("card_plain.json")["card"]) == ""  # "wallet": null
    assert wallet_type(fixture("card_present_plain.json")["card_present"]) == ""  # no key
    assert wallet_type({"wallet": {"type": "samsung_pay"}}) == "samsung_pay"
    assert wallet_type({"wallet": "apple_pay"}) == ""  # not Stripe's shape: not a wallet
    assert [wallet_label(k) for k in ("apple_pay", "google_pay", "samsung_pay", "")] == [
        "Apple Pay",
        "Google Pay",
        "Samsung Pay",
        "",
    ]
    assert wallet_label("new_wallet") == "New Wallet"  # one Stripe adds later still prints
    assert (
        _tender_detail("card", "visa", "4242", "pi_1", "apple_pay") == "VISA ****4242 (Apple Pay)"
    )
    assert _tender_detail("card", "visa", "4242", "pi_1") == "VISA ****4242"


def test_the_gateway_reads_the_wallet_from_the_charge(
    gateway: StripeGateway, stripe_fake: FakeStripeWallets
) -> None:
    def confirmed(card: str, card_present: bool, metadata: dict[str, str]) -> tuple[str, ...]:
        key = f"wallet-test:{uuid.uuid4().hex}"
        made = gateway.create_intent(
            amount=1290, currency="EUR", key=key, card_present=card_present, metadata=metadata
        )
        got = gateway.attach_and_confirm(made.id, card, key=key)
        assert got.authorized
        return got.card_brand, got.card_last4, got.card_wallet

    assert confirmed("pm_tap_apple_pay", True, {}) == ("visa", "4242", "apple_pay")
    assert confirmed("pm_web_google_pay", False, {}) == ("mastercard", "4444", "google_pay")
    assert confirmed("pm_tap_plain", True, {}) == ("mastercard", "4444", "")
    # What a client puts in the metadata (or says anywhere) is not a wallet: only the charge is.
    assert confirmed(
        "pm_web_plain", False, {"wallet": "apple_pay", "card_wallet": "apple_pay"}
    ) == (
        "visa",
        "4242",
        "",
    )
    # The gateway asked Stripe for the charge with the intent, as it does in production.
    assert any(
        "latest_charge" in str(r.query) for r in stripe_fake.requests("GET", "/v1/payment_intents/")
    )


def test_a_tap_with_apple_pay_is_kept_and_printed(db: Database, gateway: StripeGateway) -> None:
    store = _store(db)
    wallet_sale = _tap(db, gateway, store, "pm_tap_apple_pay", 1290)
    plain_sale = _tap(db, gateway, store, "pm_tap_plain", 500)

    paid = _payment(db, tender_key(wallet_sale, 1))
    assert (paid.status, paid.card_brand, paid.card_last4, paid.card_wallet) == (
        "captured",
        "visa",
        "4242",
        "apple_pay",
    )
    assert _payment(db, tender_key(plain_sale, 1)).card_wallet == ""

    with db.unit_of_work() as s:
        number = orders.order_by_workflow(s, wallet_sale)
        assert number is not None
        receipt = receipt_for_order(s, number.number)
        plain = orders.order_by_workflow(s, plain_sale)
        assert plain is not None
        plain_receipt = receipt_for_order(s, plain.number, reprint=True)
    assert [(t.kind, t.amount, t.detail) for t in receipt.tenders] == [
        ("card", 1290, "VISA ****4242 (Apple Pay)")
    ]
    assert [t.detail for t in plain_receipt.tenders] == ["MASTERCARD ****4444"]


def test_an_online_google_pay_payment_is_kept(db: Database, gateway: StripeGateway) -> None:
    code, location_id, _, _ = _store(db)
    wf = f"order:wallet:{uuid.uuid4().hex}"
    acts = OnlinePaymentActivities(db, gateway)
    state = ActivityEnvironment().run(
        acts.authorize,
        PaymentRequest(
            workflow_id=wf,
            amount=4590,
            currency="EUR",
            store_code=code,
            payment_method="pm_web_google_pay",
        ),  # fmt: skip
    )
    assert state.authorized and state.client_secret
    row = _payment(db, payment_key(wf))
    assert (row.status, row.card_brand, row.card_last4, row.card_wallet) == (
        "authorized",
        "mastercard",
        "4444",
        "google_pay",
    )


def test_the_sales_report_splits_card_payments_by_wallet(
    db: Database, gateway: StripeGateway
) -> None:
    store = _store(db)
    code = store[0]
    _tap(db, gateway, store, "pm_tap_apple_pay", 1290)
    _tap(db, gateway, store, "pm_tap_apple_pay", 710)
    _tap(db, gateway, store, "pm_tap_plain", 2000)
    ctx = ReportContext(ui_base="http://ui", now=AT + timedelta(days=1))
    with db.unit_of_work() as s:
        result = registry.run(s, "sales", ReportParams(DAY, DAY, stores=(code,)), ctx)
    frame = result.section("card_wallets").frame
    rows = {
        r["wallet"]: (r["store"], r["currency"], r["payments"], r["amount"], r["share_pct"])
        for r in frame.to_dict("records")
    }
    assert rows == {
        "Apple Pay": (code, "EUR", 2, 2000, 50.0),
        PLAIN_CARD: (code, "EUR", 1, 2000, 50.0),
    }
    tenders = result.section("tenders").frame.to_dict("records")
    assert [(t["tender"], t["payments"], t["amount"]) for t in tenders] == [("card", 3, 4000)]


def test_a_retried_tap_finds_its_payment_and_keeps_the_wallet(
    db: Database, gateway: StripeGateway, stripe_fake: FakeStripeWallets
) -> None:
    store = _store(db)
    _, location_id, till_id, till_code = store
    wf = f"sale:wallet:{uuid.uuid4().hex}"
    acts = TenderActivities(db, gateway, lambda _till: SimulatedReader(gateway, "pm_tap_apple_pay"))
    attempt = TenderAttempt(
        workflow_id=wf, number=1, kind="card", amount=990, tendered=990, currency="EUR",
        till_code=till_code, till_id=till_id, location_id=location_id,
    )  # fmt: skip
    first = ActivityEnvironment().run(acts.card, attempt)
    again = ActivityEnvironment().run(acts.card, attempt)  # a retried activity
    assert (first.card_wallet, again.card_wallet) == ("apple_pay", "apple_pay")
    assert again.reference == first.reference
    assert len(stripe_fake.requests("POST", "/v1/payment_intents")) == 3  # create, update, confirm


async def test_a_till_sale_paid_with_apple_pay_prints_it(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db: Database, temporal_client, device_printers, gateway: StripeGateway
) -> None:
    """The whole Sale workflow on a queue of its own with the fake Stripe: the tender carries
    the wallet, the receipt sent to the printer says "(Apple Pay)", the history replays."""
    queue = f"sales-wallets-{uuid.uuid4().hex[:6]}"
    req = SaleRequest(
        till_code="BER1",
        client_sale_id=uuid.uuid4().hex[:12],
        cashier_id=1,
        lines=(BasketLine(sku="KEYRING", quantity=1),),
        tenders=(),  # priced first: the card then pays what is due
    )
    async with sales_worker(temporal_client, db, gateway, task_queue=queue):
        start = WithStartWorkflowOperation(
            SaleWorkflow.run,
            req,
            id=sale_workflow_id(req.till_code, req.client_sale_id),
            task_queue=queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        opened = await temporal_client.execute_update_with_start_workflow(
            CHECKOUT_UPDATE, start_workflow_operation=start, result_type=SaleResult
        )
        assert opened.status == "open" and opened.due > 0
        handle = temporal_client.get_workflow_handle_for(SaleWorkflow.run, opened.workflow_id)
        paid = await handle.execute_update(
            SaleWorkflow.add_tenders,
            AddTenders(
                tenders=(TenderIn(kind="card", amount=opened.due, simulate="pm_tap_apple_pay"),)
            ),
        )
        assert paid.status == "completed", paid.declines
        assert [(t.kind, t.card_brand, t.card_last4, t.card_wallet) for t in paid.tenders] == [
            ("card", "visa", "4242", "apple_pay")
        ]
        await handle.result()  # printed and closed
    history = await handle.fetch_history()
    jobs = [
        (
            await DATA_CONVERTER.decode(
                list(e.activity_task_scheduled_event_attributes.input.payloads), [SaleDevices]
            )
        )[0]
        for e in history.events
        if e.activity_task_scheduled_event_attributes.activity_type.name == SALE_DEVICES_ACTIVITY
    ]
    assert [t.detail for t in jobs[0].receipt.receipt.tenders] == ["VISA ****4242 (Apple Pay)"]
    with db.unit_of_work() as s:  # a reprint says the same
        reprint = receipt_for_order(s, paid.sale_id, reprint=True)
    assert [t.detail for t in reprint.tenders] == ["VISA ****4242 (Apple Pay)"]
    replayed = await Replayer(
        workflows=[SaleWorkflow], data_converter=DATA_CONVERTER
    ).replay_workflow(history, raise_on_replay_failure=False)
    assert replayed.replay_failure is None


@pytest.mark.parametrize("fmt", ["json", "csv", "html", "xlsx"])
def test_the_wallet_section_renders_with_and_without_payments(
    db: Database, gateway: StripeGateway, fmt: str
) -> None:
    quiet = _store(db)  # no sales: an empty section
    busy = _store(db)
    _tap(db, gateway, busy, "pm_tap_apple_pay", 1290)
    ctx = ReportContext(ui_base="http://ui", now=AT + timedelta(days=1))
    for store, rows in ((quiet, 0), (busy, 1)):
        with db.unit_of_work() as s:
            result = registry.run(s, "sales", ReportParams(DAY, DAY, stores=(store[0],)), ctx)
        assert len(result.section("card_wallets").frame) == rows
        body, _, _ = registry.render_as("sales", result, fmt, ctx, None)
        assert body
        if fmt in ("json", "html") and rows:
            assert b"Apple Pay" in body
