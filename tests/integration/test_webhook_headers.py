"""Webhook signature headers that cannot be signatures are a 401, never a 500; signed bodies of a
shape no provider sends are a 400; neither is stored anywhere."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from helpers.webstore import SECRET as WEBSTORE_SECRET
from helpers.webstore import connect, disconnect, shopify_order, woo_order
from sqlalchemy import func, select

from db.models_payments import WebhookEvent
from db.repositories import webstores
from integrations import stripe_webhooks, webstore_signatures

STRIPE_SECRET = "whsec_test_suite"  # tests/conftest.py test_settings
NOW = int(time.time())


def inbox_count(db) -> int:  # type: ignore[no-untyped-def]  # takes untyped fixture values
    with db.unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(WebhookEvent)) or 0


def stripe_event(**fields: Any) -> bytes:
    event = {
        "id": f"evt_{uuid.uuid4().hex}",
        "type": "charge.dispute.created",
        "data": {"object": {"id": "ch_1", "object": "charge", "payment_intent": "pi_x"}},
    }
    event.update(fields)
    return json.dumps(event).encode()


def _good_v1(body: bytes, t: int = NOW) -> str:
    return stripe_webhooks.sign(body, STRIPE_SECRET, t).split(",")[1].removeprefix("v1=")


def _raw(value: str) -> bytes:
    """A header value as bytes on the wire: Latin-1 where it can be (Starlette reads it back as
    such), else UTF-8."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode()


async def _post(api, url: str, body: bytes, headers: list[tuple[str, str]]):  # type: ignore[no-untyped-def]  # takes untyped fixture values
    raw = [(b"content-type", b"application/json")] + [(k.encode(), _raw(v)) for k, v in headers]
    return await api.post(url, content=body, headers=raw)


def _refused(r: Any, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code


# ---- Stripe: `Stripe-Signature: t=<unix>,v1=<hex>` -------------------------------------------

STRIPE_BODY = stripe_event()
GOOD = _good_v1(STRIPE_BODY)
STRIPE_HEADERS: dict[str, list[tuple[str, str]]] = {
    "non_numeric_t": [("Stripe-Signature", f"t=12ab,v1={GOOD}")],
    "unicode_digit_t": [("Stripe-Signature", f"t=\u00b2{NOW},v1={GOOD}")],  # "²".isdigit()
    "huge_t": [("Stripe-Signature", f"t={'9' * 5000},v1={GOOD}")],
    "float_overflow_t": [("Stripe-Signature", f"t={'9' * 400},v1={GOOD}")],
    "negative_t": [("Stripe-Signature", f"t=-{NOW},v1={GOOD}")],
    "non_ascii_v1": [("Stripe-Signature", f"t={NOW},v1={GOOD[:-1]}é")],
    "latin1_v1": [("Stripe-Signature", f"t={NOW},v1=\xff\xfe")],
    "short_v1": [("Stripe-Signature", f"t={NOW},v1={GOOD[:10]}")],
    "uppercase_v1": [("Stripe-Signature", f"t={NOW},v1={GOOD.upper()}")],
    "missing_t": [("Stripe-Signature", f"v1={GOOD}")],
    "missing_v1": [("Stripe-Signature", f"t={NOW}")],
    "empty_v1": [("Stripe-Signature", f"t={NOW},v1=")],
    "part_without_equals": [("Stripe-Signature", f"t={NOW},v1={GOOD},garbage")],
    "duplicated_t": [("Stripe-Signature", f"t={NOW},t={NOW},v1={GOOD}")],
    "duplicated_v1": [("Stripe-Signature", f"t={NOW},v1={GOOD},v1={GOOD}")],
    "too_many_v1": [("Stripe-Signature", f"t={NOW}," + ",".join([f"v1={'a' * 64}"] * 9))],
    "over_long": [("Stripe-Signature", f"t={NOW},v1={GOOD}," + "v0=" + "a" * 4000)],
    "empty": [("Stripe-Signature", "")],
    "two_headers": [("Stripe-Signature", f"t={NOW},v1={GOOD}")] * 2,
}


@pytest.mark.parametrize("case", sorted(STRIPE_HEADERS))
async def test_malformed_stripe_signature_headers_are_401(api, db, case: str) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    before = inbox_count(db)
    r = await _post(api, "/webhooks/stripe", STRIPE_BODY, STRIPE_HEADERS[case])
    _refused(r, 401, "bad_signature")
    assert inbox_count(db) == before


def test_the_stripe_parser_refuses_what_it_cannot_read() -> None:
    for case, header in STRIPE_HEADERS.items():
        if case == "two_headers":
            continue  # each one is fine: the route refuses the pair
        with pytest.raises(stripe_webhooks.SignatureError):
            stripe_webhooks.verify(STRIPE_BODY, header[0][1], STRIPE_SECRET, NOW)
    # and still takes what Stripe sends: several v1 (a secret being rolled) and a v0
    stripe_webhooks.verify(
        STRIPE_BODY, f"t={NOW},v1={'0' * 64},v1={GOOD},v0={'1' * 64}", STRIPE_SECRET, NOW
    )


async def _signed_stripe(api, body: bytes):  # type: ignore[no-untyped-def]  # takes untyped fixture values
    # Signed now, not at import: the suite may reach this test minutes after it was collected.
    t = int(time.time())
    return await _post(
        api, "/webhooks/stripe", body, [("Stripe-Signature", f"t={t},v1={_good_v1(body, t)}")]
    )


STRIPE_SHAPES = {
    "not_json": b"hello",
    "array": b"[1, 2]",
    "string": b'"evt_1"',
    "no_id": json.dumps({"type": "charge.refunded"}).encode(),
    "numeric_id": json.dumps({"id": 12, "type": "charge.refunded"}).encode(),
    "list_id": json.dumps({"id": ["evt_1"], "type": "charge.refunded"}).encode(),
    "no_type": json.dumps({"id": "evt_1"}).encode(),
    "type_not_a_string": stripe_event(type=["payment_intent.succeeded"]),
    "data_a_string": stripe_event(data="x"),
    "object_a_list": stripe_event(data={"object": [1]}),
    "id_too_long": stripe_event(id="evt_" + "x" * 300),
    "type_too_long": stripe_event(type="payment_intent." + "x" * 200),
    "intent_too_long": stripe_event(data={"object": {"payment_intent": "pi_" + "x" * 300}}),
}


@pytest.mark.parametrize("case", sorted(STRIPE_SHAPES))
async def test_signed_stripe_bodies_of_the_wrong_shape_are_400_and_stored_nowhere(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, db, case: str
) -> None:
    before = inbox_count(db)
    _refused(await _signed_stripe(api, STRIPE_SHAPES[case]), 400, "malformed")
    assert inbox_count(db) == before


async def test_a_well_formed_stripe_event_is_still_taken(api, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    before = inbox_count(db)
    expanded = {"object": {"object": "charge", "payment_intent": {"id": "pi_y", "object": "x"}}}
    for body in (stripe_event(), stripe_event(data=expanded)):
        r = await _signed_stripe(api, body)
        assert r.status_code == 200 and r.json()["status"] == "recorded", r.text
    assert inbox_count(db) == before + 2


# ---- Shopify and WooCommerce: base64 HMAC-SHA256 of the body -----------------------------------


@pytest.fixture(scope="module")
def shop(db) -> Iterator[webstores.StoreConfig]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    store = connect(db, "shopify")
    yield store
    disconnect(db, store.code)


@pytest.fixture(scope="module")
def woo(db) -> Iterator[webstores.StoreConfig]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    store = connect(db, "woocommerce")
    yield store
    disconnect(db, store.code)


def _shopify_headers(body: bytes, **override: str) -> list[tuple[str, str]]:
    headers = {
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Hmac-Sha256": webstore_signatures.sign(body, WEBSTORE_SECRET),
        "X-Shopify-Event-Id": uuid.uuid4().hex,
        "X-Shopify-Triggered-At": "2026-11-22T10:00:00.000000000Z",
    }
    headers.update(override)
    return list(headers.items())


def _woo_headers(body: bytes, **override: str) -> list[tuple[str, str]]:
    headers = {
        "X-WC-Webhook-Topic": "order.created",
        "X-WC-Webhook-Signature": webstore_signatures.sign(body, WEBSTORE_SECRET),
        "X-WC-Webhook-Delivery-ID": uuid.uuid4().hex,
    }
    headers.update(override)
    return list(headers.items())


WEB_BODY = json.dumps(shopify_order(1, [("X", 1, "1.00")])).encode()
WEB_GOOD = webstore_signatures.sign(WEB_BODY, WEBSTORE_SECRET)
WEB_SIGNATURES: dict[str, list[str]] = {
    "non_ascii": [WEB_GOOD[:-2] + "é="],
    "latin1_bytes": ["\xff" * 44],
    "not_base64": ["!" * 43 + "="],
    "wrong_length": [WEB_GOOD + WEB_GOOD],
    "no_padding": [WEB_GOOD[:-1]],
    "empty": [""],
    "two_headers": [WEB_GOOD, WEB_GOOD],
    "joined_by_a_proxy": [f"{WEB_GOOD}, {WEB_GOOD}"],
}


@pytest.mark.parametrize("case", sorted(WEB_SIGNATURES))
@pytest.mark.parametrize("platform", ["shopify", "woocommerce"])
async def test_malformed_web_store_signatures_are_401(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, db, shop, woo, platform: str, case: str
) -> None:
    before = inbox_count(db)
    if platform == "shopify":
        url, name = f"/webhooks/shopify/{shop.code}", "X-Shopify-Hmac-Sha256"
        base = [h for h in _shopify_headers(WEB_BODY) if h[0] != name]
    else:
        url, name = f"/webhooks/woocommerce/{woo.code}", "X-WC-Webhook-Signature"
        base = [h for h in _woo_headers(WEB_BODY) if h[0] != name]
    r = await _post(api, url, WEB_BODY, base + [(name, v) for v in WEB_SIGNATURES[case]])
    _refused(r, 401, "bad_signature")
    assert inbox_count(db) == before


def _shopify_shapes() -> dict[str, tuple[bytes, dict[str, str]]]:
    order = shopify_order(1, [("X", 1, "1.00")])
    bad_rate = json.loads(json.dumps(order))
    bad_rate["line_items"][0]["tax_lines"] = [{"price": "0.10", "rate": "a lot"}]
    long_id = {**order, "id": "9" * 300}
    return {
        "not_json": (b"{not json", {}),
        "array": (b"[1, 2]", {}),
        "no_lines": (json.dumps({**order, "line_items": []}).encode(), {}),
        "tax_rate_not_a_number": (json.dumps(bad_rate).encode(), {}),
        "order_id_too_long": (json.dumps(long_id).encode(), {}),
        "refund_order_id_an_object": (
            json.dumps({"order_id": {"id": "9" * 300}}).encode(),
            {"X-Shopify-Topic": "refunds/create"},
        ),
        "triggered_at_not_a_time": (json.dumps(order).encode(), {"X-Shopify-Triggered-At": "soon"}),
        "no_topic": (json.dumps(order).encode(), {"X-Shopify-Topic": ""}),
        "topic_too_long": (json.dumps(order).encode(), {"X-Shopify-Topic": "orders/" + "x" * 200}),
        "event_id_too_long": (json.dumps(order).encode(), {"X-Shopify-Event-Id": "e" * 300}),
        "event_id_not_ascii": (json.dumps(order).encode(), {"X-Shopify-Event-Id": "évènement"}),
    }


@pytest.mark.parametrize("case", sorted(_shopify_shapes()))
async def test_signed_shopify_deliveries_of_the_wrong_shape_are_400_and_stored_nowhere(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, db, shop, case: str
) -> None:
    body, override = _shopify_shapes()[case]
    before = inbox_count(db)
    headers = [(k, v) for k, v in _shopify_headers(body, **override) if v]
    r = await _post(api, f"/webhooks/shopify/{shop.code}", body, headers)
    _refused(r, 400, "malformed")
    assert inbox_count(db) == before


def _woo_shapes() -> dict[str, tuple[bytes, dict[str, str]]]:
    order = woo_order(7, [("X", 1, "1.00")])
    return {
        "not_json": (b"nope", {}),
        "array": (b"[]", {}),
        "no_date_modified": (
            json.dumps({**order, "date_modified": "", "date_modified_gmt": ""}).encode(),
            {},
        ),
        "quantity_not_a_number": (
            json.dumps(
                {**order, "line_items": [{**order["line_items"][0], "quantity": "x"}]}
            ).encode(),
            {},
        ),
        "order_id_too_long": (json.dumps({**order, "id": "7" * 300}).encode(), {}),
        "other_topic_with_a_long_id": (
            json.dumps({"id": "7" * 300}).encode(),
            {"X-WC-Webhook-Topic": "product.updated", "X-WC-Webhook-Delivery-ID": ""},
        ),
        "topic_too_long": (json.dumps(order).encode(), {"X-WC-Webhook-Topic": "o" * 200}),
    }


@pytest.mark.parametrize("case", sorted(_woo_shapes()))
async def test_signed_woocommerce_deliveries_of_the_wrong_shape_are_400_and_stored_nowhere(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, db, woo, case: str
) -> None:
    body, override = _woo_shapes()[case]
    before = inbox_count(db)
    headers = [(k, v) for k, v in _woo_headers(body, **override) if v]
    r = await _post(api, f"/webhooks/woocommerce/{woo.code}", body, headers)
    _refused(r, 400, "malformed")
    assert inbox_count(db) == before


async def test_a_well_formed_non_order_delivery_is_still_taken(api, db, shop, woo) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    before = inbox_count(db)
    body = json.dumps({"id": 1, "title": "Tee"}).encode()
    headers = _shopify_headers(body, **{"X-Shopify-Topic": "products/update"})
    r = await _post(api, f"/webhooks/shopify/{shop.code}", body, headers)
    assert r.status_code == 200 and r.json()["status"] == "queued", r.text
    headers = _woo_headers(body, **{"X-WC-Webhook-Topic": "product.updated"})
    r = await _post(api, f"/webhooks/woocommerce/{woo.code}", body, headers)
    assert r.status_code == 200 and r.json()["status"] == "queued", r.text
    assert inbox_count(db) == before + 2
