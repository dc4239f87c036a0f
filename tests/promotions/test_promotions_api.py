"""The promotions API round trip through the real ASGI app: create (idempotent, clear 422s and
409s), who may write and read, coupons, the preview that explains a basket, update and switch off.

Every promotion here targets a product made for the test (or needs the test's coupon) and is
switched off at the end, so no other test's basket ever meets it."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from helpers.api import own_api, password_login, till_login
from helpers.catalog import Codes, make_user, product_body

from db.session import Database


@pytest.fixture(scope="module")
async def papi(db, temporal_client, test_settings, gateway):  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    async with own_api(test_settings, db=db, client=temporal_client, gateway=gateway) as at:
        yield at("127.0.0.47")


def _key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


async def test_promotions_round_trip(papi: httpx.AsyncClient, db: Database) -> None:
    admin = await password_login(papi, "admin", "admin-demo")
    manager = await password_login(papi, *make_user(db, "manager", ["catalog"]))
    plain = await password_login(papi, *make_user(db, "manager", []))
    codes = Codes()
    body = product_body(codes, category=f"cat-{codes.tag.lower()}")
    made = await papi.post("/catalog/products", json=body, headers={**admin, **_key()})
    assert made.status_code == 201, made.text
    small, large = f"{body['code']}-S", f"{body['code']}-L"  # 9.90 and 12.90
    category = body["category"]
    created: list[str] = []
    try:
        await _round_trip(papi, admin, manager, plain, codes.tag, small, large, category, created)
    finally:
        for code in created:
            gone = await papi.delete(f"/promotions/{code}", headers={**admin, **_key()})
            assert gone.status_code == 200 and gone.json()["active"] is False


async def _round_trip(
    papi: httpx.AsyncClient,
    admin: dict[str, str],
    manager: dict[str, str],
    plain: dict[str, str],
    tag: str,
    small: str,
    large: str,
    category: str,
    created: list[str],
) -> None:
    promo: dict[str, Any] = {
        "code": f"cat{tag}",
        "name": "20 % off the test category",
        "kind": "percent_off",
        "rule": {"target": {"categories": [category]}, "percent_bp": 2000},
        "priority": 10,
        "combines_with": ["order"],
        "channels": ["store"],
        "location_codes": ["BER"],
    }
    key = _key()
    first = await papi.post("/promotions", json=promo, headers={**manager, **key})
    assert first.status_code == 201, first.text
    created.append(first.json()["code"])
    assert first.json()["code"] == f"CAT{tag}" and first.json()["combination_class"] == "product"
    again = await papi.post("/promotions", json=promo, headers={**manager, **key})
    assert again.json() == first.json() and again.headers.get("Idempotent-Replay") == "true"
    other = await papi.post(
        "/promotions", json={**promo, "priority": 1}, headers={**manager, **key}
    )
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_key_reused"
    dup = await papi.post("/promotions", json=promo, headers={**manager, **_key()})
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "duplicate_promotion"

    bad = await papi.post(
        "/promotions",
        json={**promo, "code": f"bad{tag}", "rule": {"target": "basket", "percent_bp": 20000}},
        headers={**manager, **_key()},
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "bad_promotion"
    assert "10000" in bad.json()["error"]["message"]
    nowhere = await papi.post(
        "/promotions",
        json={**promo, "code": f"nw{tag}", "location_codes": ["NOWHERE"]},
        headers={**manager, **_key()},
    )
    assert nowhere.status_code == 422 and nowhere.json()["error"]["code"] == "unknown_location"
    money = await papi.post(
        "/promotions",
        json={
            **promo,
            "code": f"m{tag}",
            "kind": "amount_off",
            "rule": {"target": "basket", "amount": 5},
        },
        headers={**manager, **_key()},
    )
    assert money.status_code == 422 and "currency" in money.json()["error"]["message"]
    shape = await papi.post(
        "/promotions", json={**promo, "colour": "red"}, headers={**manager, **_key()}
    )
    assert shape.status_code == 422

    refused = await papi.post(
        "/promotions", json={**promo, "code": f"x{tag}"}, headers={**plain, **_key()}
    )
    assert refused.status_code == 403
    listed = await papi.get("/promotions", headers=plain)
    assert listed.status_code == 200 and f"CAT{tag}" in [p["code"] for p in listed.json()]
    cashier = await till_login(papi)
    assert (await papi.get("/promotions", headers=cashier)).status_code == 403

    # A coupon promotion for the basket, taken after the product one (it combines with it).
    coupon_promo = {
        "code": f"cpn{tag}",
        "name": "2 euro off with the coupon",
        "kind": "amount_off",
        "rule": {"target": "basket", "amount": 200},
        "combines_with": ["product"],
        "requires_coupon": True,
        "currency": "EUR",
        "budget_uses": 5,
    }
    made = await papi.post("/promotions", json=coupon_promo, headers={**manager, **_key()})
    assert made.status_code == 201, made.text
    created.append(made.json()["code"])
    coupon = await papi.post(
        f"/promotions/cpn{tag}/coupons",
        json={"code": f"welcome-{tag}", "multi_use": True},
        headers={**manager, **_key()},
    )
    assert coupon.status_code == 201 and coupon.json()["code"] == f"WELCOME-{tag}"
    listed_coupons = await papi.get(f"/promotions/CPN{tag}/coupons", headers=manager)
    assert [c["code"] for c in listed_coupons.json()] == [f"WELCOME-{tag}"]

    basket = {
        "location": "BER",
        "lines": [{"sku": small, "quantity": 2}, {"sku": large, "quantity": 1}],
        "coupon_codes": [f"welcome-{tag}", "NO-SUCH-COUPON"],
    }
    preview = await papi.post("/promotions/preview", json=basket, headers=manager)
    assert preview.status_code == 200, preview.text
    p = preview.json()
    # 20 % of 19.80 and 12.90: 3.96 + 2.58; then 2.00 off the 26.16 left, shared 1.21 / 0.79.
    assert p["subtotal"] == 3270 and p["total_discount"] == 654 + 200
    assert [(x["discount"], x["after"]) for x in p["lines"]] == [(396 + 121, 1463), (258 + 79, 953)]
    assert p["lines"][0]["by_promotion"] == [
        {"promotion_code": f"CAT{tag}", "amount": 396},
        {"promotion_code": f"CPN{tag}", "amount": 121},
    ]
    assert p["coupons_used"] == [f"WELCOME-{tag}"]
    assert [(c["code"], c["reason"]) for c in p["coupons_refused"]] == [
        ("NO-SUCH-COUPON", "unknown")
    ]
    web = await papi.post("/promotions/preview", json={**basket, "channel": "web"}, headers=manager)
    assert [a["code"] for a in web.json()["applied"]] == [f"CPN{tag}"]  # the first is store-only

    elsewhere = await papi.post(
        "/promotions/preview", json={**basket, "location": "LIS"}, headers=manager
    )
    assert elsewhere.status_code == 403
    unknown = await papi.post(
        "/promotions/preview",
        json={**basket, "lines": [{"sku": f"NOPE-{tag}", "quantity": 1}]},
        headers=manager,
    )
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_sku"

    changed = await papi.put(
        f"/promotions/cat{tag}",
        json={**promo, "rule": {**promo["rule"], "percent_bp": 1000}},
        headers={**manager, **_key()},
    )
    assert changed.status_code == 200 and changed.json()["version"] == 2
    off = await papi.delete(f"/promotions/cat{tag}", headers={**manager, **_key()})
    assert off.json()["active"] is False and off.json()["version"] == 3
    after = await papi.post("/promotions/preview", json=basket, headers=manager)
    assert [a["code"] for a in after.json()["applied"]] == [f"CPN{tag}"]
    missing = await papi.get(f"/promotions/none{tag}", headers=manager)
    assert missing.status_code == 404
