"""Bad input that only shows inside a workflow is refused at once, with its own code.

An unknown customer on a return, an impossible SKU in a sale, an unknown receipt: each fails its
activity as a business error (non-retryable, encoded by contracts/errors.py), so the till gets
a clear 4xx in well under a second — no local-activity retry loop, no 30-second hang, no 422
carrying an exception's text."""

from __future__ import annotations

import time
import uuid

import pytest

# Not a speed target but a correctness bound: a refusal must not wait for a retry. The issue
# asks for "well under a second" (these answer in about 0.25 s); one retry, or the first
# back-off of a local activity's retry loop, already takes a second, and the loop itself 30 s
# (the step's schedule-to-close timeout), so 1 s still tells a refusal from a retry.
FAST_S = 1.0


def _rid() -> str:
    return uuid.uuid4().hex[:12]


async def _timed(call):  # type: ignore[no-untyped-def]  # any awaitable
    start = time.perf_counter()
    answer = await call
    return answer, time.perf_counter() - start


@pytest.mark.parametrize(
    ("lines", "code"),
    [
        ([{"sku": "NO-SUCH-SKU-9", "quantity": 1}], "not_found"),
        (
            [{"sku": "MUG-ENAMEL", "quantity": 1}, {"sku": "NOPE-" + "X" * 20, "quantity": 2}],
            "not_found",
        ),
    ],
)
async def test_a_sale_of_an_impossible_sku_is_refused_at_once(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, cashier, lines, code
) -> None:
    """The pricing activity refuses the unknown SKU: 404 with its own code, fast."""
    body = {"client_sale_id": _rid(), "lines": lines, "tenders": [{"kind": "cash", "amount": 5000}]}
    r, took = await _timed(api.post("/tills/BER1/sales", json=body, headers=cashier))
    assert r.status_code == 404, r.text
    assert r.json()["error"]["code"] == code
    assert "Traceback" not in r.text and "psycopg" not in r.text
    assert took < FAST_S, f"took {took:.2f} s"


async def test_a_return_for_an_unknown_customer_is_refused_at_once(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, cashier
) -> None:
    """A receipt-less return to the store credit of a customer who does not exist: 4xx, fast."""
    body = {
        "return_id": _rid(),
        "refund_to": "store_credit",
        "customer_id": 2_000_000_000,
        "lines": [{"sku": "MUG-ENAMEL", "quantity": 1, "disposition": "restock"}],
    }
    r, took = await _timed(api.post("/tills/BER1/returns", json=body, headers=cashier))
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["error"]["code"] != "domain_error"  # its own code, not a generic one
    assert took < FAST_S, f"took {took:.2f} s"


async def test_a_return_of_an_unknown_receipt_is_refused_at_once(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, cashier
) -> None:
    """The assess activity finds no such sale: 404, fast."""
    body = {
        "return_id": _rid(),
        "sale_id": "BER1-999999",
        "lines": [{"line_no": 1, "quantity": 1, "disposition": "restock"}],
    }
    r, took = await _timed(api.post("/tills/BER1/returns", json=body, headers=cashier))
    assert r.status_code == 404, r.text
    assert r.json()["error"]["code"] == "not_found"
    assert took < FAST_S, f"took {took:.2f} s"


async def test_a_gift_card_reload_of_an_unknown_code_is_refused_at_once(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, cashier
) -> None:
    """Reloading a gift card that does not exist is refused before any money moves."""
    body = {
        "client_sale_id": _rid(),
        "lines": [],
        "gift_cards": [{"amount": 2000, "reload_code": "ZZZZ-ZZZZ-ZZZZ-ZZZZ"}],
        "tenders": [{"kind": "cash", "amount": 2000}],
    }
    r, took = await _timed(api.post("/tills/BER1/sales", json=body, headers=cashier))
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["error"]["code"] == "not_found"
    assert took < FAST_S, f"took {took:.2f} s"
