"""A gift card code is shown in full once, to the selling till; every later look-up masks it."""

from __future__ import annotations

import uuid

import pytest
from helpers.api import till_login
from helpers.log_capture import every_logger_at_debug, logged

from domain.secrets import mask


def cid() -> str:
    return uuid.uuid4().hex[:14]


@pytest.fixture(scope="module")
async def cora(api) -> dict[str, str]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """Another cashier of Berlin, at the other till (BER2)."""
    return await till_login(api, "BER2", "1002", "2345")


async def test_only_the_selling_tills_answer_shows_the_code(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, cashier, cora, temporal_client, caplog
) -> None:
    with every_logger_at_debug(caplog):
        code = await _sell_and_redeem(api, cashier, cora, temporal_client)
    # Nothing logged meanwhile, at any level by any logger, holds the code in full: the last 4
    # characters (as mask() shows them) at most.
    lines = logged(caplog)
    assert "/tills/BER1/sales" in lines  # the capture heard the calls
    assert code not in lines and code.replace("-", "") not in lines


async def _sell_and_redeem(api, cashier, cora, temporal_client) -> str:  # type: ignore[no-untyped-def]  # takes untyped fixture values
    """Sell a gift card, look the sale up, pay a sale with the card; the card's code."""
    body = {
        "client_sale_id": cid(),
        "gift_cards": [{"amount": 3000}],
        "tenders": [{"kind": "cash", "amount": 3000}],
    }
    sold = await api.post("/tills/BER1/sales", headers=cashier, json=body)
    assert sold.status_code == 200, sold.text
    (card,) = sold.json()["gift_cards"]
    code = card["code"]
    assert len(code) == 19 and "•" not in code  # the selling till: in full, once
    await temporal_client.get_workflow_handle(sold.json()["workflow_id"]).result()

    # Asking again (the same client sale id) is answered from the database: masked.
    again = await api.post("/tills/BER1/sales", headers=cashier, json=body)
    assert again.status_code == 200 and again.json()["sale_id"] == sold.json()["sale_id"]
    assert again.json()["gift_cards"] == [{"code": mask(code), "amount": 3000, "balance": 3000}]
    assert mask(code) == f"••••-••••-••••-{code[-4:]}"
    # Another till of the store looks the sale up by its receipt number: masked.
    looked = await api.get(f"/tills/BER2/sales/{sold.json()['sale_id']}", headers=cora)
    assert looked.status_code == 200, looked.text
    assert looked.json()["gift_cards"][0]["code"] == mask(code)
    assert code not in looked.text and code.replace("-", "") not in looked.text

    # A sale paid with the card: its tender reference is masked in every look-up too.
    paid = await api.post(
        "/tills/BER1/sales",
        headers=cashier,
        json={
            "client_sale_id": cid(),
            "lines": [{"sku": "MUG-STONE", "quantity": 1}],
            "tenders": [{"kind": "gift_card", "amount": 1490, "reference": code}],
        },
    )
    assert paid.status_code == 200 and paid.json()["status"] == "completed", paid.text
    later = await api.get(f"/tills/BER2/sales/{paid.json()['sale_id']}", headers=cora)
    assert later.status_code == 200, later.text
    (tender,) = later.json()["tenders"]
    assert tender["kind"] == "gift_card" and tender["reference"] == mask(code)
    assert code not in later.text
    return str(code)


async def test_a_reprint_and_every_refusal_mask_the_code(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, cashier, db, temporal_client
) -> None:
    """The sale's own receipt carries the code; its reprint and the refusals that name a real
    card (they reach the worker's logs) show only the masked code."""
    from activities.receipts import receipt_of
    from db.repositories import balances, orders
    from domain.errors import Conflict

    body = {
        "client_sale_id": cid(),
        "gift_cards": [{"amount": 2500}],
        "tenders": [{"kind": "cash", "amount": 2500}],
    }
    sold = await api.post("/tills/BER1/sales", headers=cashier, json=body)
    assert sold.status_code == 200, sold.text
    code = sold.json()["gift_cards"][0]["code"]
    await temporal_client.get_workflow_handle(sold.json()["workflow_id"]).result()
    with db.unit_of_work() as s:
        order = orders.order_by_workflow(s, sold.json()["workflow_id"])
        assert order is not None
        first = receipt_of(s, order)
        reprint = receipt_of(s, order, reprint=True)
    assert any(code in n for n in first.notes)
    assert not any(code in n for n in reprint.notes)
    assert any(mask(code) in n for n in reprint.notes)

    with db.unit_of_work() as s:
        card = balances.gift_card(s, code)
        card.status = "blocked"
    try:
        with pytest.raises(Conflict) as blocked, db.unit_of_work() as s:
            balances.post_gift_card(s, code, delta=-100, reason="redeem", reference="t", key=cid())
        assert code not in blocked.value.message
    finally:
        with db.unit_of_work() as s:
            balances.gift_card(s, code).status = "active"
