"""Tokens, roles and store scoping on every till route."""

from __future__ import annotations

import hashlib
import uuid

import pytest
from helpers.api import till_login
from sqlalchemy import select

from db.models import ApiToken

SALE = {"lines": [{"sku": "POSTCARD", "quantity": 1}], "tenders": [{"kind": "cash", "amount": 150}]}


def till_routes(till: str) -> list[tuple[str, str, dict | None]]:
    return [
        ("GET", f"/tills/{till}/lookup?barcode=4006381000017", None),
        ("POST", f"/tills/{till}/quote", {"lines": SALE["lines"]}),
        ("POST", f"/tills/{till}/sales", {"client_sale_id": uuid.uuid4().hex[:10], **SALE}),
        ("GET", f"/tills/{till}/sales/BER1-000001", None),
        ("POST", f"/tills/{till}/sales/BER1-000001/reprint", None),
    ]


async def _call(api, method, path, body, headers):  # type: ignore[no-untyped-def]  # takes untyped fixture values
    return await api.request(method, path, json=body, headers=headers)


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}]
)
async def test_no_or_bad_token_is_401(api, headers) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    for method, path, body in till_routes("BER1"):
        r = await _call(api, method, path, body, headers)
        assert r.status_code == 401, (path, r.text)
        assert (
            r.json()["error"]["code"] == "unauthorized"
            and r.headers["www-authenticate"] == "Bearer"
        )


async def test_sale_without_a_token_is_401_whatever_the_body(api) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    r = await api.post("/tills/BER1/sales", json={"lines": "not a basket"})
    assert r.status_code == 401, (
        r.text
    )  # nothing about the body leaks to a caller who is not signed in


async def test_cashier_of_another_store_is_403(api, cashier) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    for method, path, body in till_routes("LIS1"):
        r = await _call(api, method, path, body, cashier)
        assert r.status_code == 403, (path, r.text)
        assert "store LIS" in r.json()["error"]["message"]


async def test_cashier_token_is_bound_to_its_till(api, cashier) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    r = await api.post("/tills/BER2/quote", json={"lines": SALE["lines"]}, headers=cashier)
    assert r.status_code == 403 and "another till" in r.json()["error"]["message"]


async def test_back_office_roles_cannot_use_tills(api) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    r = await api.post("/auth/login", json={"username": "fiona", "password": "finance-demo"})
    assert r.status_code == 200
    finance = {"Authorization": f"Bearer {r.json()['token']}"}
    for method, path, body in till_routes("BER1"):
        resp = await _call(api, method, path, body, finance)
        assert resp.status_code == 403, path


async def test_manager_can_use_any_till_of_their_stores(api) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    r = await api.post("/auth/login", json={"username": "mia", "password": "manager-demo"})
    manager = {"Authorization": f"Bearer {r.json()['token']}"}
    for till in ("BER2", "LIS1"):
        q = await api.post(f"/tills/{till}/quote", json={"lines": SALE["lines"]}, headers=manager)
        assert q.status_code == 200, q.text


async def test_login_refusals(api) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    wrong_pin = await api.post("/tills/BER1/login", json={"staff_code": "1001", "pin": "9999"})
    assert wrong_pin.status_code == 401
    other_store = await api.post("/tills/LIS1/login", json={"staff_code": "1001", "pin": "1234"})
    assert other_store.status_code == 401
    no_till = await api.post("/tills/NOPE/login", json={"staff_code": "1001", "pin": "1234"})
    assert no_till.status_code == 404 and "NOPE" in no_till.json()["error"]["message"]
    bad = await api.post("/tills/BER1/login", json={"staff_code": "1001", "pin": "12ab"})
    assert bad.status_code == 422 and "pin" in bad.json()["error"]["message"]
    bad_pw = await api.post("/auth/login", json={"username": "mia", "password": "x"})
    assert bad_pw.status_code == 401


async def test_tokens_are_stored_hashed_and_logout_revokes(api, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    headers = await till_login(api, "BER2", "1002", "2345")
    token = headers["Authorization"].split()[1]
    with db.unit_of_work() as s:
        stored = s.scalars(select(ApiToken.token_hash)).all()
    assert token not in stored and hashlib.sha256(token.encode()).hexdigest() in stored
    assert (await api.post("/auth/logout", headers=headers)).status_code == 204
    r = await api.post("/tills/BER2/quote", json={"lines": SALE["lines"]}, headers=headers)
    assert r.status_code == 401
