"""The pure rules of outbound events: signature, verification, URLs, types, backoff, ids."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from domain.errors import InvalidRequest
from domain.events import (
    EVENT_TYPES,
    Event,
    backoff_s,
    check_event_types,
    check_url,
    sign,
    signature_header,
    verify,
)


def test_signature_is_stripe_style_with_one_v1_per_secret() -> None:
    body = b'{"id":"evt_1"}'
    header = signature_header(["new", "old"], 1700000000, body)
    t, v1a, v1b = header.split(",")
    assert t == "t=1700000000"
    want = hmac.new(b"new", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert v1a == f"v1={want}" and v1b == f"v1={sign('old', 1700000000, body)}"
    assert verify(header, body, "old", 1700000100) and verify(header, body, "new", 1700000100)
    assert not verify(header, body, "other", 1700000100)
    assert not verify(header, body + b" ", "new", 1700000100)  # the body is what is signed
    assert not verify(header, body, "new", 1700000000 + 301)  # too old: a replayed request


def test_urls_are_public_https_unless_allowed() -> None:
    assert check_url("https://hooks.zapier.com/x", require_https=True, allow_private=False)
    for url, code in [
        ("http://hooks.zapier.com/x", "https_required"),
        ("https://127.0.0.1/x", "private_url"),
        ("https://10.1.2.3/x", "private_url"),
        ("https://[::1]/x", "private_url"),
        ("https://169.254.169.254/latest", "private_url"),
        ("https://localhost:8080/x", "private_url"),
        ("ftp://example.com/x", "bad_url"),
        ("https://user:pw@example.com/x", "bad_url"),
        ("https://example.com:99999/x", "bad_url"),
    ]:
        with pytest.raises(InvalidRequest) as err:
            check_url(url, require_https=True, allow_private=False)
        assert err.value.code == code, url
    assert check_url("http://127.0.0.1:5000/x", require_https=False, allow_private=True)


def test_event_types_and_backoff() -> None:
    assert check_event_types(["*"]) == EVENT_TYPES
    assert check_event_types(["stock.changed", "order.created", "stock.changed"]) == (
        "order.created",
        "stock.changed",
    )
    with pytest.raises(InvalidRequest):
        check_event_types(["order.exploded"])
    assert [backoff_s(n, initial_s=30, cap_s=3600) for n in (1, 2, 3, 8, 9)] == [
        30,
        60,
        120,
        3600,
        3600,
    ]


def test_the_same_change_is_the_same_event_id() -> None:
    a = Event(type="sale.completed", entity="order:x", key="sale:BER1:1")
    b = Event(type="sale.completed", entity="order:x", key="sale:BER1:1", data={"n": 1})
    c = Event(type="sale.completed", entity="order:x", key="sale:BER1:2")
    assert a.event_id == b.event_id != c.event_id and a.event_id.startswith("evt_")
