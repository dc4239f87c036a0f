"""Cards while offline: the till enforces the store's limits and stores only a token, brand and last
4; on replay a declined capture becomes a "collect from customer" task."""

from __future__ import annotations

import re
import sqlite3
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from helpers.tills import TcpLink, login, wait_until
from temporalio.exceptions import ApplicationError

from activities.replay import ReplayActivities
from contracts.replay import CAPTURE_UNAVAILABLE, CardCapture, JournalLine
from contracts.sale import sale_workflow_id
from db.repositories import catalog
from integrations.offline_cards import CaptureOutcome, StoredCardPayment
from integrations.stripe_offline import StripeOfflineCapturer


class FakeDecliningCapturer:
    """Test stand-in for the payment provider: declines every stored payment, remembering what it
    saw."""

    def __init__(self) -> None:
        self.seen: list[StoredCardPayment] = []

    def capture(self, payment: StoredCardPayment) -> CaptureOutcome:
        self.seen.append(payment)
        return CaptureOutcome(False, decline_reason="insufficient funds")


def capture_request(db, amount: int = 2170) -> CardCapture:  # type: ignore[no-untyped-def]  # takes untyped fixture values
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
        reference="tok_offline_1",
        brand="VISA",
        last4="4242",
        sold_at=datetime.now(UTC) - timedelta(hours=3),
        lines=(
            JournalLine(sku="TEA-BLACK", quantity=2, unit_price=890),
            JournalLine(sku="CHOC-DARK", quantity=1, unit_price=390),
        ),
        total=2170,
    )


async def test_declined_capture_becomes_a_collection_task_once(db, api) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    capturer = FakeDecliningCapturer()
    acts = ReplayActivities(db, capturer)
    cmd = capture_request(db)
    first = acts.capture_card(cmd)
    again = acts.capture_card(cmd)  # a retried activity
    assert (
        not first.approved
        and first.collection_task_id
        and again.collection_task_id == first.collection_task_id
    )
    assert (
        capturer.seen[0].key == f"{cmd.sale_workflow_id}:offline-card:1"
    )  # idempotency key for the provider
    assert capturer.seen[0].reference == "tok_offline_1" and capturer.seen[0].last4 == "4242"

    manager = await login(api, "BER1", "9001", "9001")
    tasks = (await api.get("/stores/BER/collection-tasks", headers=manager)).json()
    [task] = [t for t in tasks if t["client_sale_id"] == cmd.client_sale_id]
    assert (
        task["amount"],
        task["card_brand"],
        task["card_last4"],
        task["till"],
        task["status"],
    ) == (cmd.amount, "VISA", "4242", "BER2", "open")
    assert task["decline_reason"] == "insufficient funds"
    assert task["receipt"]["lines"][0] == {"sku": "TEA-BLACK", "quantity": 2, "unit_price": 890}
    cashier = await login(api, "BER2", "1002", "2345")
    assert (await api.get("/stores/BER/collection-tasks", headers=cashier)).status_code == 403


def test_approved_capture_opens_no_task_and_a_missing_capturer_is_said(db, gateway) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    # The terminal's stored payment: a PaymentIntent of this till and sale, for the amount.
    cmd = capture_request(db)
    intent = gateway.create_intent(
        amount=cmd.amount,
        currency=cmd.currency,
        key=f"t:{uuid.uuid4().hex}",
        card_present=True,
        metadata={"till": cmd.till_code, "client_sale_id": cmd.client_sale_id},
    )
    gateway.attach_and_confirm(intent.id, "pm_card_visa", key=f"t:{uuid.uuid4().hex}")
    cmd = replace(cmd, reference=intent.id)
    approved = ReplayActivities(db, StripeOfflineCapturer(gateway)).capture_card(cmd)
    assert (
        approved.approved
        and approved.provider_ref.startswith("pi_")
        and not approved.collection_task_id
    )
    with pytest.raises(ApplicationError) as err:
        ReplayActivities(db).capture_card(capture_request(db))
    assert err.value.type == CAPTURE_UNAVAILABLE and err.value.non_retryable


async def test_offline_card_limits_at_the_till(central, start_agent, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    link = TcpLink(central.port)
    await link.up()
    async with httpx.AsyncClient(base_url=central.url, timeout=30) as api:
        manager = await login(api, "BER1", "9001", "9001")
        bad = await api.put(
            "/stores/BER/offline-card-policy",
            headers=manager,
            json={"enabled": True, "per_sale_cap": 9000, "total_cap": 8000},
        )
        assert bad.status_code == 422 and "per_sale_cap" in bad.json()["error"]["message"]
        policy = {"enabled": True, "per_sale_cap": 5000, "total_cap": 8000, "max_age_hours": 24}
        r = await api.put("/stores/BER/offline-card-policy", headers=manager, json=policy)
        assert r.status_code == 200 and r.json() == policy
        try:
            agent = await start_agent("BER2", link.url)
            await agent.login("1002", "2345")
            await wait_until(lambda: agent.agent.snapshot is not None, 10, "snapshot")
            assert agent.agent.snapshot.card_policy.per_sale_cap == 5000
            await link.cut()

            def sale(amount: int, **card: str) -> dict[str, object]:
                tender = {"kind": "card", "amount": amount, **card}
                return {
                    "client_sale_id": f"oc-{uuid.uuid4().hex[:8]}",
                    "lines": [{"sku": "COFFEE-BEANS", "quantity": 1}],
                    "tenders": [tender],
                }

            terminal = {"reference": "tok_term_0001", "brand": "VISA", "last4": "4242"}
            price = agent.agent.snapshot.items["COFFEE-BEANS"].unit_price
            gift = await agent.post(
                "/api/sales",
                {
                    **sale(price),
                    "tenders": [{"kind": "gift_card", "amount": price, "reference": "GC123"}],
                },
            )
            assert (
                gift.status_code == 422
                and "balance is kept centrally" in gift.json()["error"]["message"]
            )
            no_terminal = await agent.post("/api/sales", sale(price))
            assert (
                no_terminal.status_code == 422
                and "terminal" in no_terminal.json()["error"]["message"]
            )
            pan = await agent.post(
                "/api/sales", sale(price, reference="4111111111111111", last4="1111")
            )
            assert pan.status_code == 422 and "card number" in pan.json()["error"]["message"]

            basket = [{"sku": "BLANKET-WOOL", "quantity": 1}]
            big = agent.agent.snapshot.items["BLANKET-WOOL"].unit_price
            assert big > 5000
            over = await agent.post("/api/sales", {**sale(big, **terminal), "lines": basket})
            assert (
                over.status_code == 422
                and "at most 50.00 per sale" in over.json()["error"]["message"]
            )

            ok = await agent.post("/api/sales", sale(price, **terminal))
            assert ok.status_code == 200, ok.text
            assert ok.json()["offline"] and ok.json()["tenders"][0]["card_last4"] == "4242"
            assert b"VISA ****4242" in (agent.agent.config.data_dir / "receipts.bin").read_bytes()
            held = price
            while held + price <= 8000:
                assert (await agent.post("/api/sales", sale(price, **terminal))).status_code == 200
                held += price
            full = await agent.post("/api/sales", sale(price, **terminal))
            assert full.status_code == 422, full.text
            assert f"already holds {held / 100:.2f}" in full.json()["error"]["message"]

            real_clock = agent.agent.clock
            agent.agent.clock = lambda: real_clock() + timedelta(hours=24, minutes=1)
            old = await agent.post("/api/sales", sale(100, **terminal))
            assert old.status_code == 422 and "more than 24 h old" in old.json()["error"]["message"]
            agent.agent.clock = real_clock
            cash = await agent.post(
                "/api/sales", {**sale(price), "tenders": [{"kind": "cash", "amount": price}]}
            )
            assert cash.status_code == 200 and cash.json()["offline"]

            # Only a token, brand and last 4 are kept: nothing like a card number in the journal
            # file.
            with sqlite3.connect(agent.agent.config.journal_path) as conn:
                kept = " ".join(b + s for b, s in conn.execute("SELECT body, sale FROM entries"))
            assert "tok_term_0001" in kept and not re.search(r"\d{12,}", kept)

            # Back online: every sale applies. These terminal tokens are no Stripe payments, so the
            # capture declines them and each becomes a "collect from customer" task, never a lost
            # sale.
            waiting = (await agent.status())["waiting"]
            await link.up()
            await wait_until(
                lambda: agent.agent.journal.counts().get("waiting", 0) == 0, 60, "upload"
            )
            counts = agent.agent.journal.counts()
            assert counts.get("applied") == waiting and not counts.get("flagged")
            tasks = (await api.get("/stores/BER/collection-tasks", headers=manager)).json()
            mine = [t for t in tasks if t["till"] == "BER2" and t["card_last4"] == "4242"]
            assert len(mine) >= waiting - 1 and "not a Stripe payment" in mine[-1]["decline_reason"]
        finally:
            await link.cut()
            await api.put(
                "/stores/BER/offline-card-policy",
                headers=manager,
                json={**policy, "enabled": False},
            )
