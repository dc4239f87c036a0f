"""Cards through Stripe (localstripe), split tender, declines, abandoned sales, gift cards."""

from __future__ import annotations

import uuid

from helpers.stock import assert_ledger_balanced, on_hand
from sqlalchemy import select

from db.models import Order, Payment
from db.repositories import balances


def cid() -> str:
    return uuid.uuid4().hex[:14]


async def sell_gift_card(api, headers, amount: int = 5000) -> str:  # type: ignore[no-untyped-def]  # takes untyped fixture values
    r = await api.post(
        "/tills/BER1/sales",
        headers=headers,
        json={
            "client_sale_id": cid(),
            "gift_cards": [{"amount": amount}],
            "tenders": [{"kind": "cash", "amount": amount}],
        },
    )
    assert r.status_code == 200 and r.json()["status"] == "completed", r.text
    card = r.json()["gift_cards"][0]
    assert card["amount"] == amount and card["balance"] == amount and len(card["code"]) == 19
    return card["code"]


async def test_split_cash_card_gift_card_sale(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, cashier, db, gateway, temporal_client, device_printers
) -> None:
    code = await sell_gift_card(api, cashier)
    before = on_hand(db, "BER", "BLANKET-WOOL")
    r = await api.post(
        "/tills/BER1/sales",
        headers=cashier,
        json={
            "client_sale_id": cid(),
            "lines": [{"sku": "MUG-STONE", "quantity": 1}, {"sku": "BLANKET-WOOL", "quantity": 1}],
            "tenders": [
                {"kind": "cash", "amount": 2000},
                {"kind": "card", "amount": 5000, "simulate": "pm_card_visa"},
                {"kind": "gift_card", "amount": 3390, "reference": code},
            ],
        },
    )
    assert r.status_code == 200, r.text
    sale = r.json()
    assert sale["status"] == "completed" and sale["total"] == 10390 and sale["due"] == 0
    cash, card, gift = sale["tenders"]
    assert (cash["kind"], cash["amount"]) == ("cash", 2000)
    assert (card["kind"], card["amount"], card["card_brand"], card["card_last4"]) == (
        "card",
        5000,
        "visa",
        "4242",
    )
    assert (
        card["reference"].startswith("pi_")
        and gateway.retrieve_intent(card["reference"]).status == "succeeded"
    )
    assert (gift["kind"], gift["amount"]) == ("gift_card", 3390)
    balance = await api.get(f"/giftcards/{code}", headers=cashier)
    assert balance.json()["balance"] == 5000 - 3390
    assert on_hand(db, "BER", "BLANKET-WOOL") == before - 1
    await temporal_client.get_workflow_handle(sale["workflow_id"]).result()
    printed = device_printers["BER1"].read_bytes()
    assert b"VISA ****4242" in printed and f"****{code[-4:]}".encode() in printed


async def test_decline_then_second_card_succeeds(api, cashier, db, gateway) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    client_id = cid()
    r = await api.post(
        "/tills/BER1/sales",
        headers=cashier,
        json={
            "client_sale_id": client_id,
            "lines": [{"sku": "SUNGLASSES", "quantity": 1}],
            "tenders": [{"kind": "card", "amount": 4900, "simulate": "pm_card_chargeCustomerFail"}],
        },
    )
    assert r.status_code == 200, r.text
    open_sale = r.json()
    assert open_sale["status"] == "open" and open_sale["due"] == 4900 and open_sale["sale_id"] == ""
    assert "declined" in open_sale["declines"][0].lower()
    again = await api.post(
        f"/tills/BER1/sales/{client_id}/tenders",
        headers=cashier,
        json={"tenders": [{"kind": "card", "amount": 4900, "simulate": "pm_card_visa"}]},
    )
    assert again.status_code == 200 and again.json()["status"] == "completed", again.text
    with db.unit_of_work() as s:
        pays = s.scalars(
            select(Payment)
            .where(Payment.workflow_id == open_sale["workflow_id"])
            .order_by(Payment.id)
        ).all()
        assert [p.status for p in pays] == ["declined", "captured"]
        assert "declined" in pays[0].failure_message.lower()


async def test_abandoned_sale_voids_authorization_and_restocks(api, cashier, db, gateway) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    code = await sell_gift_card(api, cashier, 1000)
    client_id = cid()
    before = on_hand(db, "BER", "LAMP-DESK")
    r = await api.post(
        "/tills/BER1/sales",
        headers=cashier,
        json={
            "client_sale_id": client_id,
            "lines": [{"sku": "LAMP-DESK", "quantity": 1}],
            "tenders": [
                {"kind": "card", "amount": 3000, "simulate": "pm_card_visa"},
                {"kind": "gift_card", "amount": 1000, "reference": code},
            ],
        },
    )
    sale = r.json()
    assert sale["status"] == "open" and sale["due"] == 6900 - 4000
    intent = sale["tenders"][0]["reference"]
    assert gateway.retrieve_intent(intent).status == "requires_capture"
    assert on_hand(db, "BER", "LAMP-DESK") == before - 1

    gone = await api.post(f"/tills/BER1/sales/{client_id}/abandon", headers=cashier)
    assert gone.status_code == 200 and gone.json()["status"] == "abandoned", gone.text
    assert gateway.retrieve_intent(intent).status == "canceled"
    assert on_hand(db, "BER", "LAMP-DESK") == before
    with db.unit_of_work() as s:
        assert balances.gift_card(s, code).balance == 1000
        assert {
            p.status
            for p in s.scalars(select(Payment).where(Payment.workflow_id == sale["workflow_id"]))
        } == {"voided"}
        assert (
            s.scalars(select(Order).where(Order.workflow_id == sale["workflow_id"])).first() is None
        )
    twice = await api.post(f"/tills/BER1/sales/{client_id}/abandon", headers=cashier)
    assert twice.status_code in (404, 409)
    assert_ledger_balanced(db)


async def test_gift_card_reload_and_refusals(api, cashier) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    code = await sell_gift_card(api, cashier, 1000)
    r = await api.post(
        "/tills/BER1/sales",
        headers=cashier,
        json={
            "client_sale_id": cid(),
            "gift_cards": [{"amount": 2500, "reload_code": code}],
            "tenders": [{"kind": "cash", "amount": 2500}],
        },
    )
    assert r.json()["gift_cards"] == [{"code": code, "amount": 2500, "balance": 3500}]
    # More than the balance: refused for this tender, the sale stays open.
    short = await api.post(
        "/tills/BER1/sales",
        headers=cashier,
        json={
            "client_sale_id": cid(),
            "lines": [{"sku": "BLANKET-WOOL", "quantity": 1}],
            "tenders": [{"kind": "gift_card", "amount": 8900, "reference": code}],
        },
    )
    assert short.json()["status"] == "open" and "35.00 left" in short.json()["declines"][0]
    unknown = await api.get("/giftcards/NOPE-NOPE-NOPE-NOPE", headers=cashier)
    assert unknown.status_code == 404
    bad_reload = await api.post(
        "/tills/BER1/sales",
        headers=cashier,
        json={
            "client_sale_id": cid(),
            "gift_cards": [{"amount": 1000, "reload_code": "NOPE-NOPE"}],
            "tenders": [{"kind": "cash", "amount": 1000}],
        },
    )
    assert bad_reload.status_code == 404 and "NOPE-NOPE" in bad_reload.json()["error"]["message"]
    too_small = await api.post(
        "/tills/BER1/sales",
        headers=cashier,
        json={"client_sale_id": cid(), "gift_cards": [{"amount": 100}], "tenders": []},
    )
    assert too_small.status_code == 422


async def test_configure_till_reader_and_simulation_is_refused_on_real_readers(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, db, database_url
) -> None:
    import os
    import subprocess
    import sys

    from helpers.api import till_login

    env = {**os.environ, "TILLFLOW_DATABASE_URL": database_url}
    cli = [sys.executable, "-m", "tillflow.cli", "configure-till", "--till", "BER2"]
    subprocess.run(
        [*cli, "--card-reader", "tmr_FAKE0001"], env=env, check=True, capture_output=True
    )
    try:
        headers = await till_login(api, "BER2", "1002", "2345")
        r = await api.post(
            "/tills/BER2/sales",
            headers=headers,
            json={
                "client_sale_id": cid(),
                "lines": [{"sku": "POSTCARD", "quantity": 1}],
                "tenders": [{"kind": "card", "amount": 150, "simulate": "pm_card_visa"}],
            },
        )
        assert r.status_code == 422 and "real card reader" in r.json()["error"]["message"]
        bad = subprocess.run(
            [*cli, "--card-reader", "reader-1"], env=env, capture_output=True, text=True
        )
        assert bad.returncode != 0 and "tmr_" in bad.stderr
    finally:
        subprocess.run(
            [*cli, "--card-reader", "simulated"], env=env, check=True, capture_output=True
        )
