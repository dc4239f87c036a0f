"""The Zürich store sells and takes back in CHF (its own price list and Swiss VAT), through the
real API and Sale / Return workflows; a gift card or store credit in EUR is refused there with
409 currency_mismatch before anything is taken."""

from __future__ import annotations

import uuid
from typing import Any

from helpers.stock import on_hand
from sqlalchemy import func, select

from db.models_payments import GiftCardEntry
from db.repositories import balances
from db.session import Database
from domain.errors import Conflict


def rid() -> str:
    return uuid.uuid4().hex[:12]


def gift_card(db: Database, amount: int, currency: str) -> str:
    with db.unit_of_work() as s:
        return balances.issue_gift_card(
            s, amount=amount, currency=currency, key=f"fx-test:{rid()}", reference="test"
        ).code


def card_state(db: Database, code: str) -> tuple[int, int]:
    """(balance, ledger rows) of a gift card."""
    with db.unit_of_work() as s:
        card = balances.gift_card(s, code)
        rows = s.scalar(
            select(func.count())
            .select_from(GiftCardEntry)
            .where(GiftCardEntry.gift_card_id == card.id)
        )
        return card.balance, rows or 0


async def sell(api: Any, headers: dict[str, str], lines: list[Any], tenders: list[Any]) -> Any:
    return await api.post(
        "/tills/ZRH1/sales",
        headers=headers,
        json={"client_sale_id": rid(), "lines": lines, "tenders": tenders},
    )


async def test_sale_and_return_at_the_chf_store(api, zoe, db, temporal_client, zrh_printer) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    code = gift_card(db, 1000, "CHF")
    before = on_hand(db, "ZRH", "MUG-ENAMEL")
    r = await sell(
        api,
        zoe,
        [{"sku": "MUG-ENAMEL", "quantity": 2}],
        [
            {"kind": "gift_card", "amount": 1000, "reference": code},
            {"kind": "cash", "amount": 2000},
        ],
    )
    assert r.status_code == 200, r.text
    sale = r.json()
    # The CHF price list (14.90), Swiss standard VAT 8.1 % included: 2980 - 2980 / 1.081.
    assert sale["status"] == "completed" and sale["currency"] == "CHF"
    assert sale["total"] == 2980 and sale["tax_total"] == 223
    assert card_state(db, code)[0] == 0
    assert on_hand(db, "ZRH", "MUG-ENAMEL") == before - 2
    await temporal_client.get_workflow_handle(sale["workflow_id"]).result()
    assert b"CHF 29.80" in zrh_printer.read_bytes()

    ret = await api.post(
        "/tills/ZRH1/returns",
        headers=zoe,
        json={
            "return_id": rid(),
            "sale_id": sale["sale_id"],
            "lines": [{"line_no": 1, "quantity": 2, "disposition": "restock"}],
        },
    )
    assert ret.status_code == 200, ret.text
    refunds = {x["kind"]: x["amount"] for x in ret.json()["refunds"]}
    assert sum(refunds.values()) == 2980 and refunds.get("gift_card") == 1000
    assert card_state(db, code)[0] == 1000  # back on the CHF card, in CHF
    assert on_hand(db, "ZRH", "MUG-ENAMEL") == before


async def test_a_product_without_a_chf_price_is_not_sold_in_zurich(api, zoe) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    r = await sell(
        api, zoe, [{"sku": "VASE-GLASS", "quantity": 1}], [{"kind": "cash", "amount": 5000}]
    )
    assert r.status_code == 422, r.text
    assert "no price at this store" in r.json()["error"]["message"]


async def test_eur_gift_card_is_refused_at_the_chf_till(api, zoe, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    code = gift_card(db, 5000, "EUR")
    before = on_hand(db, "ZRH", "CHOC-DARK")
    r = await sell(
        api,
        zoe,
        [{"sku": "CHOC-DARK", "quantity": 1}],
        [{"kind": "gift_card", "amount": 450, "reference": code}],
    )
    assert r.status_code == 409, r.text
    err = r.json()["error"]
    assert err["code"] == "currency_mismatch"
    assert "EUR" in err["message"] and "CHF" in err["message"] and code not in err["message"]
    assert card_state(db, code) == (5000, 1)  # only its issue: nothing taken
    assert on_hand(db, "ZRH", "CHOC-DARK") == before  # no sale started

    # Reloading it at the CHF till is refused the same way.
    r = await api.post(
        "/tills/ZRH1/sales",
        headers=zoe,
        json={
            "client_sale_id": rid(),
            "lines": [{"sku": "CHOC-DARK", "quantity": 1}],
            "gift_cards": [{"amount": 1000, "reload_code": code}],
            "tenders": [{"kind": "cash", "amount": 1450}],
        },
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "currency_mismatch", r.text
    assert card_state(db, code) == (5000, 1)


async def test_chf_card_left_open_then_a_eur_card_added_is_refused(api, zoe, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    chf, eur = gift_card(db, 200, "CHF"), gift_card(db, 5000, "EUR")
    client_sale_id = rid()
    r = await api.post(
        "/tills/ZRH1/sales",
        headers=zoe,
        json={
            "client_sale_id": client_sale_id,
            "lines": [{"sku": "CHOC-DARK", "quantity": 1}],
            "tenders": [{"kind": "gift_card", "amount": 200, "reference": chf}],
        },
    )
    assert r.status_code == 200 and r.json()["status"] == "open" and r.json()["due"] == 250, r.text
    added = await api.post(
        f"/tills/ZRH1/sales/{client_sale_id}/tenders",
        headers=zoe,
        json={"tenders": [{"kind": "gift_card", "amount": 250, "reference": eur}]},
    )
    assert added.status_code == 409 and added.json()["error"]["code"] == "currency_mismatch", (
        added.text
    )
    assert card_state(db, eur) == (5000, 1)
    done = await api.post(
        f"/tills/ZRH1/sales/{client_sale_id}/tenders",
        headers=zoe,
        json={"tenders": [{"kind": "cash", "amount": 250}]},
    )
    assert done.status_code == 200 and done.json()["status"] == "completed", done.text


def test_the_ledger_refuses_another_currency_under_its_lock(db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """The tender activity's own check (a request that slipped past the API's): nothing posted."""
    code = gift_card(db, 3000, "EUR")
    try:
        with db.unit_of_work() as s:
            balances.post_gift_card(
                s,
                code,
                delta=-100,
                reason="redeem",
                reference="t",
                key=f"t:{rid()}",
                currency="CHF",
            )
    except Conflict as err:
        assert err.code == "currency_mismatch"
    else:
        raise AssertionError("a EUR card paid in CHF")
    assert card_state(db, code) == (3000, 1)
    with db.unit_of_work() as s:
        posted = balances.post_gift_card(
            s, code, delta=-100, reason="redeem", reference="t", key=f"t:{rid()}", currency="eur"
        )
    assert posted.applied and posted.balance == 2900
