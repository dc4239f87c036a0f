"""Rate limits per token (or storefront key) and per source address: 429 `rate_limited` with
Retry-After on sign-in, gift card balances, return look-ups and the storefront API; another token,
key or address is not limited. Also: a balance needs the full gift card code."""

from __future__ import annotations

import uuid
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import pytest
from helpers.api import Clients, own_api
from helpers.webstore import connect, disconnect

from db.repositories import balances
from db.session import Database
from tillflow.settings import Settings


def serve(  # type: ignore[no-untyped-def]  # takes untyped fixture values
    db: Database, temporal_client, test_settings, gateway, **settings: Any
) -> AbstractAsyncContextManager[Clients]:
    """An API of its own (so its counters start at zero) with these settings."""
    return own_api(test_settings, db=db, client=temporal_client, gateway=gateway, **settings)


@pytest.fixture
def served(db, temporal_client, test_settings, gateway):  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    return lambda **settings: serve(db, temporal_client, test_settings, gateway, **settings)


def assert_limited(r: httpx.Response) -> None:
    assert r.status_code == 429, r.text
    assert r.json()["error"]["code"] == "rate_limited" and r.json()["error"]["message"]
    assert 0 < int(r.headers["Retry-After"]) <= 60


async def till_token(
    api: httpx.AsyncClient, till: str, staff_code: str, pin: str
) -> dict[str, str]:
    r = await api.post(f"/tills/{till}/login", json={"staff_code": staff_code, "pin": pin})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def gift_card(db: Database, amount: int = 2500) -> str:
    with db.unit_of_work() as s:
        return balances.issue_gift_card(
            s, amount=amount, currency="EUR", key=f"test:{uuid.uuid4()}", reference="test"
        ).code


async def test_sign_in_attempts_are_limited_per_address(served) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    async with served(rate_limit_signin_address="3/minute") as at:
        here, there = at("10.2.0.1"), at("10.2.0.2")
        for _ in range(3):  # right ones count too: this limits attempts, not only failures
            await till_token(here, "BER1", "1001", "1234")
        assert_limited(
            await here.post("/tills/BER1/login", json={"staff_code": "1001", "pin": "1234"})
        )
        assert_limited(await here.post("/auth/login", json={"username": "mia", "password": "x"}))
        await till_token(there, "BER1", "1001", "1234")


async def test_gift_card_balances_are_limited_per_token_and_per_address(served, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    code = gift_card(db)
    async with served(rate_limit_giftcard_token="3/minute") as at:
        api = at("10.2.1.1")
        carl = await till_token(api, "BER1", "1001", "1234")
        cora = await till_token(api, "BER2", "1002", "2345")
        for _ in range(3):
            assert (await api.get(f"/giftcards/{code}", headers=carl)).status_code == 200
        assert_limited(await api.get(f"/giftcards/{code}", headers=carl))
        # Unknown codes count the same: guessing is what the limit is for.
        assert_limited(await api.get("/giftcards/NOPE-NOPE-NOPE-NOPE", headers=carl))
        assert (await api.get(f"/giftcards/{code}", headers=cora)).status_code == 200
    async with served(rate_limit_giftcard_address="3/minute") as at:
        here, there = at("10.2.1.2"), at("10.2.1.3")
        carl = await till_token(here, "BER1", "1001", "1234")
        cora = await till_token(here, "BER2", "1002", "2345")
        for who in (carl, cora, carl):
            assert (await here.get(f"/giftcards/{code}", headers=who)).status_code == 200
        assert_limited(await here.get(f"/giftcards/{code}", headers=cora))  # a fresh token, too
        assert (await there.get(f"/giftcards/{code}", headers=cora)).status_code == 200


async def test_a_balance_needs_the_full_code_and_shows_it_masked(api, cashier, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    code = gift_card(db, 1234)
    for part in (code[:4], code[:14], code[-4:], code.replace("-", "")[:12]):
        r = await api.get(f"/giftcards/{part}", headers=cashier)
        assert r.status_code == 422, (part, r.text)
    whole = await api.get(f"/giftcards/{code}", headers=cashier)
    assert whole.status_code == 200 and whole.json()["balance"] == 1234
    assert whole.json()["code"] == f"****-****-****-{code[-4:]}"
    # As typed at a till: without dashes, in lower case.
    typed = await api.get(f"/giftcards/{code.replace('-', '').lower()}", headers=cashier)
    assert typed.status_code == 200 and typed.json()["balance"] == 1234


async def test_return_look_ups_are_limited_per_token_and_per_address(served) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    url = "/tills/BER1/returns/lookup"
    async with served(rate_limit_returns_token="2/minute") as at:
        api = at("10.2.2.1")
        carl = await till_token(api, "BER1", "1001", "1234")
        mia = await till_token(api, "BER1", "9001", "9001")
        for _ in range(2):
            r = await api.get(url, params={"email": "nobody@example.test"}, headers=carl)
            assert r.status_code == 200, r.text
        assert_limited(await api.get(url, params={"email": "kim@example.test"}, headers=carl))
        r = await api.get(url, params={"email": "nobody@example.test"}, headers=mia)
        assert r.status_code == 200
    async with served(rate_limit_returns_address="2/minute") as at:
        here, there = at("10.2.2.2"), at("10.2.2.3")
        carl = await till_token(here, "BER1", "1001", "1234")
        mia = await till_token(here, "BER1", "9001", "9001")
        for who in (carl, mia):
            r = await here.get(url, params={"phone": "+49000"}, headers=who)
            assert r.status_code == 200
        assert_limited(await here.get(url, params={"phone": "+49000"}, headers=mia))
        assert (await there.get(url, params={"phone": "+49000"}, headers=mia)).status_code == 200


@pytest.fixture
def two_storefronts(db):  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    keys = [f"sfk_test_{uuid.uuid4().hex}" for _ in range(2)]
    stores = [connect(db, "web", storefront_key=k) for k in keys]
    yield [{"X-Storefront-Key": k} for k in keys]
    for store in stores:
        disconnect(db, store.code)


async def test_the_storefront_api_is_limited_per_key_and_per_address(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    served, two_storefronts
) -> None:
    first, second = two_storefronts
    url, sku = "/storefront/availability", {"sku": "POSTCARD"}
    async with served(rate_limit_storefront_key="3/minute") as at:
        api = at("10.2.3.1")
        for _ in range(3):
            assert (await api.get(url, params=sku, headers=first)).status_code == 200
        assert_limited(await api.get(url, params=sku, headers=first))
        assert_limited(await api.post("/storefront/carts", json={}, headers=first))  # every route
        assert (await api.get(url, params=sku, headers=second)).status_code == 200
    async with served(rate_limit_storefront_address="3/minute") as at:
        here, there = at("10.2.3.2"), at("10.2.3.3")
        for key in (first, second, first):
            assert (await here.get(url, params=sku, headers=key)).status_code == 200
        assert_limited(await here.get(url, params=sku, headers=second))
        # Guessing keys from one address is limited by the address as well.
        assert_limited(await here.get(url, params=sku, headers={"X-Storefront-Key": "sfk_guess"}))
        assert (await there.get(url, params=sku, headers=second)).status_code == 200


def test_limits_in_settings_are_checked() -> None:
    assert Settings(rate_limit_giftcard_token="10/minute;100/hour").rate_limit_giftcard_token
    with pytest.raises(ValueError, match="rate_limit_giftcard_token"):
        Settings(rate_limit_giftcard_token="plenty")
