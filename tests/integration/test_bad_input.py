"""Bad input is a fast, clear 4xx at the door (api/input_guard.py, api/body_limits.py): control
characters anywhere are a 422 before anything reaches SQL, and bodies over their route group's
limit are a 413 before they are read."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from helpers.api import password_login
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.input_guard import Refused, check_json, strings_may_hold_controls

NUL_CASES = [
    # (method, url, JSON body, who) — each reached PostgreSQL with the bad text before the guard
    ("POST", "/auth/login", {"username": "carl\x00", "password": "x"}, None),
    ("POST", "/auth/login", {"username": "carl", "password": "\x00"}, None),
    ("GET", "/tills/BER1%00/catalog", None, "cashier"),
    ("GET", "/tills/BER1/lookup?barcode=400638%00", None, "cashier"),
    ("GET", "/webstores/exceptions?order=order%3Ashopify%00", None, "admin"),
    ("GET", "/stores/BER%00/variances", None, "manager"),
]


@pytest.fixture
async def admin(api) -> dict[str, str]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    return await password_login(api, "admin", "admin-demo")


@pytest.fixture
async def manager(api) -> dict[str, str]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    return await password_login(api, "mia", "manager-demo")


async def _send(api, method: str, url: str, body: Any, headers: dict[str, str]):  # type: ignore[no-untyped-def]  # takes untyped fixture values
    content = None if body is None else json.dumps(body).encode()  # \u0000 escapes, as clients do
    if content is not None:
        headers = {**headers, "content-type": "application/json"}
    return await api.request(method, url, content=content, headers=headers)


def _invalid(r: Any) -> str:
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "invalid"
    return str(error["message"])


@pytest.mark.parametrize(("method", "url", "body", "who"), NUL_CASES)
async def test_a_nul_byte_anywhere_is_a_422_not_a_500(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, cashier, manager, admin, method: str, url: str, body: Any, who: str | None
) -> None:
    headers = {"cashier": cashier, "manager": manager, "admin": admin}.get(who or "", {})
    message = _invalid(await _send(api, method, url, body, headers))
    assert "U+0000" in message


async def test_the_message_names_the_field(api, cashier) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    body = {"lines": [{"sku": "TEE\x07", "quantity": 1}]}
    message = _invalid(await _send(api, "POST", "/tills/BER1/quote", body, cashier))
    assert "'lines.0.sku'" in message and "U+0007" in message
    r = await api.get("/tills/BER1/lookup", params={"barcode": "\x1b[2J"}, headers=cashier)
    assert "'barcode'" in _invalid(r)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"username": "\\ud800", "password": "x"}',  # a lone surrogate: psycopg cannot encode it
        b'{"username": "\xed\xa0\x80", "password": "x"}',  # the same, raw in (invalid) UTF-8
        b'{"username": "carl\xc2\x85", "password": "x"}',  # U+0085, a C1 control, raw
        b'{"username": "carl", "password": "x", "\\u0000": 1}',  # a key
    ],
)
async def test_surrogates_c1_controls_and_keys_are_refused_too(api, raw: bytes) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    r = await api.post("/auth/login", content=raw, headers={"content-type": "application/json"})
    _invalid(r)


async def test_numbers_no_column_holds_are_refused(api, cashier) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    for raw in (
        b'{"lines": [{"sku": "TEE", "quantity": 1}], "x": 99999999999999999999}',
        b'{"lines": [{"sku": "TEE", "quantity": NaN}]}',
        b'{"lines": [{"sku": "TEE", "quantity": 1e999}]}',
        b"[" * 100_000 + b"]" * 100_000,  # deeper than the parser goes: RecursionError, not a 500
    ):
        r = await api.post(
            "/tills/BER1/quote",
            content=raw,
            headers={**cashier, "content-type": "application/json"},
        )
        _invalid(r)


async def test_an_id_no_bigint_holds_is_a_422(api, admin) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    # Found by tests/integration/test_fuzz_api.py: it reached PostgreSQL as `bigint out of range`.
    r = await api.post(f"/webstores/exceptions/{2**63}/retry", headers=admin)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid", r.text


def test_free_text_keeps_tab_newline_and_carriage_return() -> None:
    check_json(json.dumps({"reason": "torn seam\r\nleft sleeve\tsee photo"}).encode())
    with pytest.raises(Refused):
        check_json(json.dumps({"reason": "torn\x0bseam"}).encode())


async def test_paths_and_queries_may_not_hold_even_a_newline(api, cashier) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    _invalid(await api.get("/tills/BER1/lookup?barcode=4006%0A381", headers=cashier))
    _invalid(await api.get("/tills/BER1%09/catalog", headers=cashier))


async def test_a_control_character_in_a_header_is_refused(api, cashier) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    # Idempotency keys are stored; a server behind h11 never passes one on, the ASGI app must not
    # rely on that.
    r = await api.post(
        "/tills/BER1/sales/nope/abandon", headers={**cashier, "Idempotency-Key": "k\x00y"}
    )
    assert "idempotency-key" in _invalid(r).lower()


async def test_good_input_still_passes(api, cashier) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    r = await api.get("/tills/BER1/catalog", headers=cashier)
    assert r.status_code == 200
    sku = r.json()["items"][0]["sku"]
    r = await _send(
        api, "POST", "/tills/BER1/quote", {"lines": [{"sku": sku, "quantity": 2}]}, cashier
    )
    assert r.status_code == 200, r.text
    # Escapes, emoji (a surrogate pair when escaped), line breaks and a backslash-u that is text:
    # the guard parses this body and lets it through; the route answers on its own terms.
    body = {"username": "Grüße\r\n😀\t— \\u0000 is text", "password": "x"}
    for ensure_ascii in (True, False):
        raw = json.dumps(body, ensure_ascii=ensure_ascii).encode()
        r = await api.post("/auth/login", content=raw, headers={"content-type": "application/json"})
        assert r.status_code == 401, r.text


# ---- the body check against an independent oracle --------------------------------------------

_any_text = st.text(st.characters(exclude_categories=()), max_size=8)  # surrogates, controls too
_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | _any_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(_any_text, children, max_size=4)
    ),
    max_leaves=12,
)


def _refusable(value: Any, numbers: bool = True) -> bool:
    """What the guard must refuse, written out on its own: a bad character or (unless told not to
    look) an unholdable number anywhere."""
    if isinstance(value, str):
        return any(
            (ord(c) < 0x20 and c not in "\t\n\r")
            or 0x7F <= ord(c) <= 0x9F
            or 0xD800 <= ord(c) <= 0xDFFF
            for c in value
        )
    if isinstance(value, bool) or value is None or not numbers and isinstance(value, int | float):
        return False
    if isinstance(value, int):
        return not -(2**63) <= value < 2**63
    if isinstance(value, float):
        return value != value or value in (float("inf"), float("-inf"))
    if isinstance(value, dict):
        return any(_refusable(k, numbers) or _refusable(v, numbers) for k, v in value.items())
    return any(_refusable(v, numbers) for v in value)


@settings(
    max_examples=500, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(value=_json_values, ascii_only=st.booleans())
def test_the_body_check_refuses_exactly_what_it_must(value: Any, ascii_only: bool) -> None:
    raw = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    try:
        check_json(raw)
        refused = False
    except Refused:
        refused = True
    assert refused == _refusable(value), raw
    if not strings_may_hold_controls(raw):  # the fast byte test never skips a bad string
        assert not _refusable(value, numbers=False), raw


# ---- body size limits ------------------------------------------------------------------------


@pytest.fixture
def bare_app(test_settings, db, temporal_client):  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """The app without its lifespan: enough for refusals the guard gives before any route runs."""
    from api.app import create_app

    return create_app(test_settings, db=db, client=temporal_client, run_worker=False)


async def _call_asgi(app, path: str, headers: list[tuple[bytes, bytes]]):  # type: ignore[no-untyped-def]  # an ASGI app
    """Call the app with a receive() that records whether the body was ever asked for."""
    asked: list[str] = []
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        asked.append("receive")
        return {"type": "http.request", "body": b"x" * 1024, "more_body": len(asked) < 4}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"tillflow.test"), *headers],
        "client": ("127.0.0.1", 1),
        "server": ("tillflow.test", 80),
    }
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], json.loads(body), asked


async def test_a_declared_length_over_the_limit_is_413_without_reading_a_byte(bare_app) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    status, body, asked = await _call_asgi(
        bare_app, "/webhooks/stripe", [(b"content-length", b"1073741824")]
    )
    assert status == 413 and body["error"]["code"] == "too_large"
    assert asked == []  # refused on the header alone: not one chunk was pulled


async def test_a_garbage_content_length_is_400(bare_app) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    for value in (b"12abc", b"-1", b"\xd9\xa1"):
        status, body, asked = await _call_asgi(
            bare_app, "/auth/login", [(b"content-length", value)]
        )
        assert status == 400 and body["error"]["code"] == "malformed", value
        assert asked == []


async def test_a_chunked_body_is_cut_off_at_the_limit(api, test_settings) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    limit = test_settings.body_limit_storefront_bytes
    pulled: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10 * limit // 4096):
            pulled.append(4096)
            yield b"a" * 4096

    r = await api.post(
        "/storefront/carts", content=chunks(), headers={"content-type": "application/json"}
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
    # Counted while it streamed: the reading stopped just past the limit, not at the 10x end.
    assert limit < sum(pulled) <= limit + 4096


@pytest.mark.parametrize(
    ("url", "size_setting", "a_smaller_group_refuses"),
    [
        ("/storefront/carts", "body_limit_storefront_bytes", None),
        ("/tills/BER1/quote", "body_limit_default_bytes", "/storefront/carts"),
        ("/tills/BER1/journal", "body_limit_journal_bytes", "/tills/BER1/quote"),
        ("/webhooks/stripe", "body_limit_webhooks_bytes", "/tills/BER1/journal"),
    ],
)
async def test_each_route_group_has_its_own_limit(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, test_settings, url: str, size_setting: str, a_smaller_group_refuses: str | None
) -> None:
    limit = getattr(test_settings, size_setting)
    headers = {"content-type": "application/json"}
    at_limit = b'"' + b"a" * (limit - 2) + b'"'
    r = await api.post(url, content=at_limit, headers=headers)
    assert r.status_code not in (413, 500), r.text  # read and refused by the route itself
    if a_smaller_group_refuses:
        r = await api.post(a_smaller_group_refuses, content=at_limit, headers=headers)
        assert r.status_code == 413
    r = await api.post(url, content=at_limit + b" ", headers=headers)
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
    assert str(limit) in r.json()["error"]["message"]
