"""A web store's storefront key and webhook secret rotate without downtime: the previous one
stays valid for the rotation window, then stops."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from helpers.webstore import connect, disconnect, shopify_headers
from sqlalchemy import update

from api.routes.webstore_webhooks import forget_store
from db.models_webstore import WebStore
from db.repositories import webstores
from integrations.stripe_webhooks import SignatureError as StripeSignatureError
from integrations.stripe_webhooks import sign as stripe_sign
from integrations.stripe_webhooks import verify as stripe_verify


async def test_a_rotated_storefront_key_keeps_the_old_one_for_the_window(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, db, admin
) -> None:
    """New key works at once; the old one until the window ends, then 401; audited."""
    old = f"sfk_test_{uuid.uuid4().hex}"
    store = connect(db, "web", storefront_key=old)
    try:
        r = await api.post(
            f"/webstores/{store.code}/rotate", json={"storefront_key": True}, headers=admin
        )
        assert r.status_code == 200, r.text
        new = r.json()["storefront_key"]
        assert new and new != old
        until = datetime.fromisoformat(r.json()["previous_valid_until"])
        assert timedelta(hours=23) < until - datetime.now(UTC) <= timedelta(hours=24)
        for key in (new, old):
            got = await api.get(
                "/storefront/availability",
                params={"sku": "MUG-ENAMEL"},
                headers={"X-Storefront-Key": key},
            )
            assert got.status_code == 200, got.text
        # The window ends: only the new key opens the storefront.
        with db.unit_of_work() as s:
            s.execute(
                update(WebStore)
                .where(WebStore.code == store.code)
                .values(previous_valid_until=datetime.now(UTC) - timedelta(seconds=1))
            )
        late = await api.get(
            "/storefront/availability",
            params={"sku": "MUG-ENAMEL"},
            headers={"X-Storefront-Key": old},
        )
        assert late.status_code == 401
        fresh = await api.get(
            "/storefront/availability",
            params={"sku": "MUG-ENAMEL"},
            headers={"X-Storefront-Key": new},
        )
        assert fresh.status_code == 200
    finally:
        disconnect(db, store.code)


async def test_a_rotated_webhook_secret_is_accepted_with_the_previous_one_in_the_window(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, db, admin
) -> None:
    """The connection accepts both secrets during the window and only the new one after it."""
    store = connect(db, "shopify", secret="old-secret-123")
    try:
        r = await api.post(
            f"/webstores/{store.code}/rotate",
            json={"webhook_secret": "new-secret-456", "overlap_hours": 2},
            headers=admin,
        )
        assert r.status_code == 200, r.text
        assert r.json()["storefront_key"] is None
        now = datetime.now(UTC)
        with db.unit_of_work() as s:
            cfg = webstores.store(s, store.code)
        assert cfg is not None
        assert cfg.webhook_secrets(now) == ("new-secret-456", "old-secret-123")
        assert cfg.webhook_secrets(now + timedelta(hours=3)) == ("new-secret-456",)
    finally:
        disconnect(db, store.code)


async def test_only_an_admin_rotates_and_a_request_must_say_what(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, db, admin, manager
) -> None:
    """A manager gets 403, an empty rotation 422, an unknown store 404."""
    store = connect(db, "web", storefront_key=f"sfk_test_{uuid.uuid4().hex}")
    try:
        body = {"storefront_key": True}
        denied = await api.post(f"/webstores/{store.code}/rotate", json=body, headers=manager)
        assert denied.status_code == 403
        empty = await api.post(f"/webstores/{store.code}/rotate", json={}, headers=admin)
        assert empty.status_code == 422
        missing = await api.post("/webstores/nope-000/rotate", json=body, headers=admin)
        assert missing.status_code == 404
    finally:
        disconnect(db, store.code)


async def test_a_shopify_delivery_signed_with_the_previous_secret_is_accepted_in_the_window(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, db, admin
) -> None:
    """Signed with the old secret: 2xx during the window, 401 after it; the new secret works."""
    store = connect(db, "shopify", secret="old-secret-123")
    try:
        r = await api.post(
            f"/webstores/{store.code}/rotate",
            json={"webhook_secret": "new-secret-456"},
            headers=admin,
        )
        assert r.status_code == 200, r.text

        async def deliver(secret: str) -> int:
            body = json.dumps({"id": 1}).encode()  # an orders/delete-like body: nothing to route
            headers = shopify_headers(
                body,
                topic="app/uninstalled",
                event_id=uuid.uuid4().hex,
                triggered_at=datetime.now(UTC).isoformat(),
                shop=store.code,
                secret=secret,
            )
            got = await api.post(f"/webhooks/shopify/{store.code}", content=body, headers=headers)
            return got.status_code

        assert await deliver("old-secret-123") < 300
        assert await deliver("new-secret-456") < 300
        assert await deliver("someone-elses") == 401
        with db.unit_of_work() as s:
            s.execute(
                update(WebStore)
                .where(WebStore.code == store.code)
                .values(previous_valid_until=datetime.now(UTC) - timedelta(seconds=1))
            )
        forget_store(store.code)  # the API caches a connection for a few seconds
        assert await deliver("old-secret-123") == 401
        assert await deliver("new-secret-456") < 300
    finally:
        disconnect(db, store.code)


def test_the_stripe_signature_accepts_the_previous_secret_while_it_is_set() -> None:
    """Both secrets verify during a rotation; an empty previous secret never matches."""
    body, now = b'{"id": "evt_1", "type": "payment_intent.created"}', int(time.time())
    old = stripe_sign(body, "whsec_old", now)
    stripe_verify(body, old, ["whsec_new", "whsec_old"], now)
    stripe_verify(body, stripe_sign(body, "whsec_new", now), ["whsec_new", ""], now)
    with pytest.raises(StripeSignatureError):
        stripe_verify(body, old, ["whsec_new", ""], now)
