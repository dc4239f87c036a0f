"""Workflow histories hold no bearer secret in the clear; admins read them through the codec server.

Every payload (and every failure message) is AES-GCM encrypted by `tillflow/payloads.py` before it
reaches Temporal. These tests read histories raw from Temporal's frontend, as the Temporal UI and
anyone with access to its database see them, and search the bytes for the secrets the workflows
carried: a gift card code sold and spent at a till, a code in a refused reload's error message, a
Stripe client secret from a storefront checkout. Then the codec endpoint (admin only, CORS for the
UI) and a key rotation on a real worker.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from helpers.api import password_login
from helpers.web_queue import web_queue_worker
from helpers.webstore import connect, disconnect, new_product
from temporalio import workflow
from temporalio.api.common.v1 import Payload, WorkflowExecution
from temporalio.api.history.v1 import History
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest
from temporalio.client import Client, WorkflowFailureError
from temporalio.worker import Worker

from db.repositories import bookkeeping
from tillflow.payloads import ENCRYPTED, KEY_ID, PayloadCipher, data_converter, key_id

UI = "http://localhost:8233"  # an origin in the default TILLFLOW_CODEC_CORS_ORIGINS


def cid() -> str:
    return uuid.uuid4().hex[:14]


async def raw_history(client: Client, workflow_id: str) -> History:
    """The history exactly as Temporal stores it: no data converter, no codec on the way."""
    events = History()
    token = b""
    while True:
        page = await client.workflow_service.get_workflow_execution_history(
            GetWorkflowExecutionHistoryRequest(
                namespace=client.namespace,
                execution=WorkflowExecution(workflow_id=workflow_id),
                next_page_token=token,
            )
        )
        events.events.extend(page.history.events)
        token = page.next_page_token
        if not token:
            return events


def started_input(history: History) -> list[Payload]:
    first = history.events[0].workflow_execution_started_event_attributes
    return list(first.input.payloads)


def as_json(payloads: list[Payload]) -> dict[str, Any]:
    """Temporal's codec-server JSON: base64 metadata values and data."""
    return {
        "payloads": [
            {
                "metadata": {k: base64.b64encode(v).decode() for k, v in p.metadata.items()},
                "data": base64.b64encode(p.data).decode(),
            }
            for p in payloads
        ]
    }


@pytest.fixture(scope="module")
async def admin(api) -> dict[str, str]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    return await password_login(api, "admin", "admin-demo")


@pytest.fixture(scope="module")
async def gift_sale(api, cashier, temporal_client) -> dict[str, str]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """A gift card sold at BER1, then spent in a second sale: the code is in both histories."""
    sold = await api.post(
        "/tills/BER1/sales",
        headers=cashier,
        json={
            "client_sale_id": cid(),
            "gift_cards": [{"amount": 2000}],
            "tenders": [{"kind": "cash", "amount": 2000}],
        },
    )
    assert sold.status_code == 200 and sold.json()["status"] == "completed", sold.text
    code = sold.json()["gift_cards"][0]["code"]
    spent = await api.post(
        "/tills/BER1/sales",
        headers=cashier,
        json={
            "client_sale_id": cid(),
            "lines": [{"sku": "MUG-STONE", "quantity": 1}],
            "tenders": [{"kind": "gift_card", "amount": 1490, "reference": code}],
        },
    )
    assert spent.status_code == 200 and spent.json()["status"] == "completed", spent.text
    for wf in (sold.json()["workflow_id"], spent.json()["workflow_id"]):
        await temporal_client.get_workflow_handle(wf).result()  # receipt printed, history closed
    return {
        "code": code,
        "issued": sold.json()["workflow_id"],
        "spent": spent.json()["workflow_id"],
    }


async def test_sale_histories_hold_no_gift_card_code(gift_sale, temporal_client) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    code = gift_sale["code"]
    for wf in (gift_sale["issued"], gift_sale["spent"]):
        history = await raw_history(temporal_client, wf)
        blob = history.SerializeToString()
        assert code.encode() not in blob and code.replace("-", "").encode() not in blob, wf
        # Every payload of the history went through the cipher (inputs, results, markers).
        (first,) = started_input(history)
        assert first.metadata["encoding"] == ENCRYPTED and KEY_ID in first.metadata


async def test_refusal_messages_are_encrypted_too(api, cashier, temporal_client) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """A business error's message (here it names the code) travels inside an encrypted payload."""
    made_up = "ZQZQ-" + uuid.uuid4().hex[:4].upper() + "-ZQZQ-ZQZQ"
    client_id = cid()
    r = await api.post(
        "/tills/BER1/sales",
        headers=cashier,
        json={
            "client_sale_id": client_id,
            "gift_cards": [{"amount": 1000, "reload_code": made_up}],
            "tenders": [{"kind": "cash", "amount": 1000}],
        },
    )
    # The till still hears why, with the code it typed.
    assert r.status_code == 404 and made_up in r.json()["error"]["message"], r.text
    blob = (await raw_history(temporal_client, f"sale:BER1:{client_id}")).SerializeToString()
    assert made_up.encode() not in blob
    assert b"Encoded failure" in blob  # the message Temporal keeps in the failure's place


@pytest.fixture(scope="module")
async def web_worker(db, temporal_client, gateway, test_settings) -> AsyncIterator[None]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """Carts and online orders for this module only (the order here waits for its payment)."""
    async with web_queue_worker(temporal_client, db, gateway, test_settings):
        yield


@pytest.mark.usefixtures("web_worker")
async def test_storefront_checkout_history_holds_no_client_secret(api, db, temporal_client) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    key = f"sfk_test_{uuid.uuid4().hex}"
    store = connect(db, "web", storefront_key=key)
    headers = {"X-Storefront-Key": key}
    try:
        sku = new_product(db, {"WH1": 2}, price=1990)
        cart_id = (await api.post("/storefront/carts", json={}, headers=headers)).json()["cart_id"]
        added = await api.post(
            f"/storefront/carts/{cart_id}/lines", json={"sku": sku, "quantity": 1}, headers=headers
        )
        assert added.status_code == 200, added.text
        done = await api.post(
            f"/storefront/carts/{cart_id}/checkout",
            json={"email": "kim@example.test"},
            headers=headers,
        )
        assert done.status_code == 201, done.text
        order = done.json()
        secret = order["client_secret"]
        assert order["status"] == "awaiting_payment" and "_secret_" in secret
        for wf in (order["workflow_id"], f"cart:{store.code}:{cart_id}"):
            blob = (await raw_history(temporal_client, wf)).SerializeToString()
            assert secret.encode() not in blob and b"_secret_" not in blob, wf
        # Nobody pays: cancel the order (its saga releases the stock) and end the cart.
        for wf in (order["workflow_id"], f"cart:{store.code}:{cart_id}"):
            handle = temporal_client.get_workflow_handle(wf)
            await handle.cancel()
            with pytest.raises(WorkflowFailureError):
                await asyncio.wait_for(handle.result(), timeout=30)
    finally:
        disconnect(db, store.code)


async def test_codec_server_decodes_for_admins_only(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, admin, cashier, db, gift_sale, temporal_client
) -> None:
    payloads = started_input(await raw_history(temporal_client, gift_sale["spent"]))
    body = as_json(payloads)

    answer = await api.post(
        "/codec/decode", json=body, headers={**admin, "X-Namespace": "default", "Origin": UI}
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["access-control-allow-origin"] == UI
    (plain,) = answer.json()["payloads"]
    assert base64.b64decode(plain["metadata"]["encoding"]) == b"json/plain"
    request = json.loads(base64.b64decode(plain["data"]))
    assert request["tenders"][0]["reference"] == gift_sale["code"]  # the admin reads it in full
    with db.unit_of_work() as s:
        audited = bookkeeping.audit_entries(s, "temporal:default")
    assert (
        audited and audited[-1].action == "codec.decode" and audited[-1].detail == {"payloads": 1}
    )

    # Anyone else: refused, and told so (CORS headers on the refusal too, for the UI).
    refused = await api.post("/codec/decode", json=body, headers={**cashier, "Origin": UI})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert refused.headers["access-control-allow-origin"] == UI
    assert gift_sale["code"] not in refused.text
    assert (await api.post("/codec/decode", json=body)).status_code == 401
    bogus = {"Authorization": "Bearer not-a-token"}
    assert (await api.post("/codec/encode", json=body, headers=bogus)).status_code == 401
    assert (await api.post("/codec/encode", json=body, headers=cashier)).status_code == 403


async def test_codec_server_encodes_and_answers_the_ui_preflight(api, admin) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'{"note":"from the UI"}')
    sealed = await api.post("/codec/encode", json=as_json([plain]), headers=admin)
    assert sealed.status_code == 200, sealed.text
    (enc,) = sealed.json()["payloads"]
    assert base64.b64decode(enc["metadata"]["encoding"]) == ENCRYPTED
    assert b"from the UI" not in base64.b64decode(enc["data"])
    back = await api.post("/codec/decode", json=sealed.json(), headers=admin)
    assert back.json() == as_json([plain])

    preflight = await api.options(
        "/codec/decode",
        headers={
            "Origin": UI,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, x-namespace",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == UI
    assert "Authorization" in preflight.headers["access-control-allow-headers"]
    stranger = await api.options(
        "/codec/decode",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in stranger.headers
    broken = await api.post(
        "/codec/decode", json={"payloads": [{"metadata": {}, "data": "%%%"}]}, headers=admin
    )
    assert broken.status_code == 422


@workflow.defn(name="CodecRotationEcho", sandboxed=False)
class Echo:
    """TEST ONLY: hands its input back, so the input (old key) and result (new key) are payloads."""

    @workflow.run
    async def run(self, text: str) -> str:
        return f"echo: {text}"


async def test_rotation_old_key_still_decrypts(temporal_client) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """Started before the rotation (old key), finished after it (new key, old one as previous)."""
    old, new = os.urandom(32), os.urandom(32)
    service = temporal_client.service_client
    before = Client(
        service,
        namespace=temporal_client.namespace,
        data_converter=data_converter(PayloadCipher(old)),
    )
    after = Client(
        service,
        namespace=temporal_client.namespace,
        data_converter=data_converter(PayloadCipher(new, previous=old)),
    )
    queue, wf = f"rotation-{uuid.uuid4().hex[:8]}", f"rotation:{uuid.uuid4().hex[:8]}"
    secret = f"pin-{uuid.uuid4().hex[:6]}"
    await before.start_workflow(Echo.run, secret, id=wf, task_queue=queue)
    async with Worker(after, task_queue=queue, workflows=[Echo]):
        assert await after.get_workflow_handle(wf).result() == f"echo: {secret}"
    history = await raw_history(temporal_client, wf)
    (given,) = started_input(history)
    assert given.metadata[KEY_ID] == key_id(old).encode()
    done = history.events[-1].workflow_execution_completed_event_attributes.result.payloads[0]
    assert done.metadata[KEY_ID] == key_id(new).encode()
    assert secret.encode() not in history.SerializeToString()
    # The old key alone cannot read what the new one wrote.
    with pytest.raises(ValueError, match="neither TILLFLOW_PAYLOAD_KEY"):
        await before.get_workflow_handle(wf).result()
