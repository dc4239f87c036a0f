"""The Stripe sync activity against FakeStripeBalance (idempotent), and the reconciliation's
loader on real rows of a store made here, run through the registry as the API and CLI run it."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pandas.testing as pdt

from activities.reconciliation import ReconciliationActivities
from contracts.reconciliation import StripeSyncCmd, sync_window
from db.models import Location, Order, Payment, Refund, Till
from db.models_payments import GiftCard, GiftCardEntry
from db.models_reconciliation import StripeBalanceTxn
from db.models_shifts import Shift, ShiftEvent
from db.models_tills import CollectionTask, OfflineJournalEntry
from db.repositories import stripe_balance
from db.session import Database
from integrations.stripe_balance import StripeBalance
from reports import registry
from reports.base import ReportParams
from tests.reports_reconciliation.fake_stripe_balance import FakeStripeBalance

DAY = date(2026, 10, 5)  # a Monday; the store is in Berlin (UTC+2 that day)
T0 = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)  # 10:00 in the store


def test_sync_window_covers_every_store_timezone() -> None:
    w = sync_window(DAY, DAY, ["Europe/Berlin", "America/New_York"], margin_hours=1)
    assert w.created_from == datetime(2026, 10, 4, 21, 0, tzinfo=UTC)
    assert w.created_to == datetime(2026, 10, 6, 5, 0, tzinfo=UTC)


def test_sync_upserts_once_and_adds_the_payout_later(db: Database) -> None:
    u = uuid.uuid4().hex[:8]
    fake = FakeStripeBalance()
    fake.charge(f"txn_a{u}", f"pi_a{u}", 2500, T0, fee=65)
    fake.refund(f"txn_b{u}", f"re_b{u}", f"pi_a{u}", 500, T0 + timedelta(hours=2))
    acts = ReconciliationActivities(db, StripeBalance(fake))  # type: ignore[arg-type]  # a fake client
    window = StripeSyncCmd(
        created_from=T0 - timedelta(minutes=1), created_to=T0 + timedelta(hours=3)
    )
    first = acts.sync_stripe(window)
    assert (first.transactions, first.added, first.payouts) == (2, 2, 0)
    again = acts.sync_stripe(window)
    assert (again.transactions, again.added) == (2, 0)
    with db.unit_of_work() as s:
        row = stripe_balance.by_id(s, f"txn_a{u}")
        assert row is not None
        assert (row.amount, row.fee, row.net, row.currency) == (2500, 65, 2435, "EUR")
        assert (row.payment_intent, row.source_id, row.payout_id) == (
            f"pi_a{u}",
            f"ch_txn_a{u}",
            None,
        )
        refund = stripe_balance.by_id(s, f"txn_b{u}")
        assert refund is not None and (refund.amount, refund.source_id) == (-500, f"re_b{u}")
    # Two days on Stripe pays both out; the sync of that day links them to the payout, and a
    # later sync of the charges' own window does not erase it.
    paid_at = T0 + timedelta(days=2)
    fake.payout(f"po_{u}", [f"txn_a{u}", f"txn_b{u}"], paid_at, paid_at + timedelta(days=1))
    later = acts.sync_stripe(
        StripeSyncCmd(
            created_from=paid_at - timedelta(hours=1), created_to=paid_at + timedelta(hours=1)
        )
    )
    assert (later.payouts, later.added) == (1, 0)
    acts.sync_stripe(window)
    with db.unit_of_work() as s:
        row = stripe_balance.by_id(s, f"txn_a{u}")
        assert row is not None and (row.payout_id, row.payout_status) == (f"po_{u}", "paid")
        n = s.query(StripeBalanceTxn).filter(StripeBalanceTxn.id.like(f"%{u}")).count()
        assert n == 2
    assert any(r[0] == "payouts" for r in fake.requests)
    assert all("data.source" in p.get("expand", []) for k, p in fake.requests if k != "payouts")


def _store(db: Database, u: str) -> tuple[int, int]:
    with db.unit_of_work() as s:
        loc = Location(
            code=f"RC{u}",
            name="Recon store",
            kind="store",
            timezone="Europe/Berlin",
            currency="EUR",
        )
        s.add(loc)
        s.flush()
        till = Till(code=f"RT{u}", location_id=loc.id, name="Till 1")
        s.add(till)
        s.flush()
        return loc.id, till.id


def test_loader_on_real_rows(db: Database) -> None:
    u = uuid.uuid4().hex[:8]
    loc_id, till_id = _store(db, u)
    sale_wf, card_wf = f"sale:RT{u}:c1", f"sale:RT{u}:c2"
    with db.unit_of_work() as s:
        shift = Shift(
            workflow_id=f"shift:RT{u}:1", till_id=till_id, n=1, location_id=loc_id,
            currency="EUR", status="closed", opened_at=T0, float_count={}, float_amount=10000,
            counted={"cash": 11400, "card": 3000}, variance=-100, closed_at=T0 + timedelta(hours=8),
            z_number=1,
        )  # fmt: skip
        s.add(shift)
        s.flush()
        s.add(ShiftEvent(shift_id=shift.id, seq=1, kind="drop", amount=500, created_at=T0))
        for wf, n in ((sale_wf, "1"), (card_wf, "2")):
            s.add(
                Order(
                    number=f"RC{u}-{n}",
                    workflow_id=wf,
                    channel="store",
                    fulfilment_type="in_store",
                    status="completed",
                    location_id=loc_id,
                    till_id=till_id,
                    currency="EUR",
                    subtotal=0,
                    tax_total=0,
                    total=0,
                    placed_at=T0 + timedelta(hours=1),
                    shift_id=shift.id,
                )  # fmt: skip
            )
        # Cash: 20.00 handed over for 20.00; expected 100 + 20 − 5 = 115.00, counted 114.00.
        s.add(
            Payment(
                workflow_id=sale_wf,
                tender="cash",
                amount=2000,
                tendered=2000,
                currency="EUR",
                status="completed",
                idempotency_key=f"{sale_wf}:t1",
                location_id=loc_id,
                till_id=till_id,
                created_at=T0 + timedelta(hours=1),
            )  # fmt: skip
        )
        card = Payment(
            workflow_id=card_wf, tender="card", amount=3000, tendered=3000, currency="EUR",
            status="captured", provider="stripe", provider_ref=f"pi_c{u}",
            idempotency_key=f"{card_wf}:t1", location_id=loc_id, till_id=till_id,
            created_at=T0 + timedelta(hours=1),
        )  # fmt: skip
        ghost = Payment(
            workflow_id=card_wf, tender="card", amount=700, tendered=700, currency="EUR",
            status="captured", provider="stripe", provider_ref=f"pi_g{u}",
            idempotency_key=f"{card_wf}:t2", location_id=loc_id, till_id=till_id,
            created_at=T0 + timedelta(hours=1),
        )  # fmt: skip
        s.add_all([card, ghost])
        s.flush()
        s.add(
            Refund(
                payment_id=card.id,
                amount=400,
                status="succeeded",
                provider_ref=f"re_c{u}",
                idempotency_key=f"return:R{u}:{card.id}",
                workflow_id=card_wf,
                created_at=T0 + timedelta(hours=3),
            )  # fmt: skip
        )
        # A gift card sold the day before (in this store's sale) and redeemed on the day.
        gc = GiftCard(code=f"GC{u}".upper()[:16], currency="EUR", balance=2000, status="active")
        s.add(gc)
        s.flush()
        s.add_all(
            [
                GiftCardEntry(
                    gift_card_id=gc.id, delta=5000, reason="issue", reference=sale_wf,
                    idempotency_key=f"{sale_wf}:giftcard:1", created_at=T0 - timedelta(days=1),
                ),
                GiftCardEntry(
                    gift_card_id=gc.id, delta=-3000, reason="redeem", reference=card_wf,
                    idempotency_key=f"{card_wf}:gc", created_at=T0 + timedelta(hours=2),
                ),
            ]
        )  # fmt: skip
        s.add(
            OfflineJournalEntry(
                till_id=till_id,
                client_sale_id=f"off{u}",
                workflow_id=f"sale:RT{u}:off{u}",
                batch_id="b1",
                sold_at=T0,
                status="received",
                payload={"tenders": [{"kind": "card", "amount": 1500}]},
            )  # fmt: skip
        )
        s.add(
            CollectionTask(
                idempotency_key=f"coll{u}",
                location_id=loc_id,
                till_id=till_id,
                workflow_id=f"replay:RT{u}:b1",
                client_sale_id=f"off2{u}",
                amount=900,
                currency="EUR",
                receipt={},
                sold_at=T0,
            )  # fmt: skip
        )
    fake = FakeStripeBalance()
    fake.charge(f"txn_c{u}", f"pi_c{u}", 3000, T0 + timedelta(hours=1, minutes=1), fee=70)
    fake.refund(f"txn_r{u}", f"re_c{u}", f"pi_c{u}", 400, T0 + timedelta(hours=3))
    fake.refund(f"txn_x{u}", f"re_x{u}", f"pi_c{u}", 250, T0 + timedelta(hours=4))
    fake.charge(f"txn_s{u}", f"pi_s{u}", 1234, T0 + timedelta(hours=5), metadata={"till": f"RT{u}"})
    acts = ReconciliationActivities(db, StripeBalance(fake))  # type: ignore[arg-type]  # a fake client
    acts.sync_stripe(sync_window(DAY, DAY, ["Europe/Berlin"]))

    now = T0 + timedelta(days=1)
    ctx = registry.ReportContext(ui_base="http://ui", namespace="default", now=now)
    with db.unit_of_work() as s:
        result = registry.run(s, "reconciliation", ReportParams(DAY, DAY), ctx, {loc_id})
    assert registry.spec("reconciliation").day_close
    cash = result.section("cash_shifts").frame.iloc[0]
    assert (cash["expected"], cash["counted"], cash["over_short"]) == (11500, 11400, -100)
    assert (cash["cash_sales"], cash["drops"]) == (2000, 500)
    cards = result.section("cards").frame.set_index("payment_intent")
    assert cards.loc[f"pi_c{u}", "status"] == "matched"
    assert cards.loc[f"pi_c{u}", "fee"] == 70
    assert cards.loc[f"pi_g{u}", "status"] == "unknown_to_stripe"
    d = result.section("discrepancies").frame
    kinds = sorted(d["kind"])
    assert kinds == [
        "card_unknown_to_stripe", "cash_short", "refund_stripe_only", "stripe_charge_unclaimed",
    ]  # fmt: skip
    assert d.set_index("kind").loc["stripe_charge_unclaimed", "store"] == f"RC{u}"
    assert d.set_index("kind").loc["refund_stripe_only", "stripe_amount"] == 250
    gift = result.section("liability").frame
    row = gift[gift["kind"] == "gift_card"].iloc[0]
    assert list(row[["opening", "issued", "redeemed", "closing"]]) == [5000, 0, 3000, 2000]
    off = result.section("offline_uncaptured").frame
    assert list(off["card_amount"]) == [1500]
    coll = result.section("collections_open").frame
    assert list(coll["amount"]) == [900]
    # Over two days the tenders are matched and summed in PostgreSQL: no tender rows, the same
    # discrepancies and the same totals per store and day.
    with db.unit_of_work() as s:
        two = registry.run(
            s, "reconciliation", ReportParams(DAY - timedelta(days=1), DAY), ctx, {loc_id}
        )
    assert two.section("cards").frame.empty and two.section("cards").note
    pdt.assert_frame_equal(two.section("discrepancies").frame, d)
    pdt.assert_frame_equal(two.section("card_totals").frame, result.section("card_totals").frame)
    assert list(two.section("card_totals").frame["stripe_fees"]) == [70]
    # Another store's caller sees none of it.
    with db.unit_of_work() as s:
        other = registry.run(s, "reconciliation", ReportParams(DAY, DAY), ctx, {-1})
    assert all(sec.frame.empty for sec in other.sections)


def test_parse_reads_an_unexpanded_source_and_a_dispute() -> None:
    from integrations.stripe_balance import NoBalance, parse_txn

    fake = FakeStripeBalance()
    obj = fake.dispute("txn_d", "pi_d", 2000, T0)
    t = parse_txn(obj)
    assert (t.type, t.reporting_category, t.payment_intent, t.source_id) == (
        "adjustment",
        "dispute",
        "pi_d",
        "dp_txn_d",
    )
    assert (t.amount, t.fee, t.net, t.details["reason"]) == (-2000, 1500, -3500, "fraudulent")
    bare = parse_txn({**obj, "source": "dp_txn_d"})
    assert (bare.source_id, bare.payment_intent) == ("dp_txn_d", "")
    assert NoBalance().balance_transactions(T0, T0 + timedelta(days=1)) == []


def test_sync_runs_as_an_activity_and_refuses_a_backwards_window(db: Database) -> None:
    from temporalio.exceptions import ApplicationError
    from temporalio.testing import ActivityEnvironment

    from contracts.errors import refusal

    u = uuid.uuid4().hex[:8]
    fake = FakeStripeBalance()
    fake.charge(f"txn_e{u}", f"pi_e{u}", 100, T0)
    fake.payout(f"po_e{u}", [f"txn_e{u}"], T0, T0 + timedelta(days=1))
    acts = ReconciliationActivities(db, StripeBalance(fake))  # type: ignore[arg-type]  # a fake client
    env = ActivityEnvironment()
    beats: list[object] = []
    env.on_heartbeat = lambda *d: beats.extend(d)
    window = StripeSyncCmd(created_from=T0, created_to=T0 + timedelta(seconds=1))
    done = env.run(lambda: acts.sync_stripe(window))
    assert (done.payouts, done.added, beats) == (1, 1, [f"po_e{u}"])
    try:
        env.run(lambda: acts.sync_stripe(StripeSyncCmd(created_from=T0, created_to=T0)))
    except ApplicationError as err:
        found = refusal(err)
        assert found is not None and found.code == "bad_range"
    else:
        raise AssertionError("a window that ends where it starts was accepted")


def test_day_close_sync_covers_the_day_in_every_timezone() -> None:
    from contracts.reconciliation import day_close_sync

    w = day_close_sync("2026-10-05", margin_hours=0)
    assert w.created_from == datetime(2026, 10, 4, 10, 0, tzinfo=UTC)  # midnight at UTC+14
    assert w.created_to == datetime(2026, 10, 6, 12, 0, tzinfo=UTC)  # midnight at UTC−12
