"""Staff see what did not go out, scoped to their stores, and retry it; a till e-mails a sale's
receipt from the recorded order, in the store's language, through the same outbox."""

from __future__ import annotations

import uuid
from typing import Any

from temporalio.client import Client

from contracts.messages import drain_now
from db.repositories import messages, orders
from db.session import Database
from tests.messages.conftest import Stores, login
from tests.messages.message_kit import SmtpServer, new_address, ready_for_pickup


async def _bounce(
    client: Client, queue: str, db: Database, smtp: SmtpServer, store: str
) -> tuple[int, str]:
    address = new_address()
    smtp.inbox.unknown.add(address)
    _, _, key = ready_for_pickup(db, store, address)
    await drain_now(client, task_queue=queue, workflow_id=f"test-drain-{uuid.uuid4().hex}")
    with db.unit_of_work() as s:
        message_id = messages.id_by_key(s, key)
    assert message_id is not None
    return message_id, address


def _ids(body: dict[str, Any]) -> set[int]:
    return {m["id"] for m in body["messages"]}


async def test_failures_are_visible_to_their_stores_staff_and_retried(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    temporal_client: Client,
    db: Database,
    smtp: SmtpServer,
    stores: Stores,
    message_worker: str,
    messages_api,
) -> None:
    http = messages_api
    de_id, de_address = await _bounce(temporal_client, message_worker, db, smtp, stores.de)
    pt_id, _ = await _bounce(temporal_client, message_worker, db, smtp, stores.pt)
    manager_de = await login(http, db, "manager", (stores.de,))
    manager_pt = await login(http, db, "manager", (stores.pt,))
    cashier_de = await login(http, db, "cashier", (stores.de,))
    admin = await login(http, db, "admin", ())

    mine = await http.get("/messages", headers=manager_de)
    assert mine.status_code == 200, mine.text
    assert de_id in _ids(mine.json()) and pt_id not in _ids(mine.json())
    seen = next(m for m in mine.json()["messages"] if m["id"] == de_id)
    assert seen["status"] == "bounced" and seen["store"] == stores.de
    assert "550 5.1.1" in seen["last_error"]
    assert seen["recipient"] == f"c***@{de_address.split('@')[1]}"  # masked
    assert "body" not in seen  # a pickup code never leaves through this list

    store_page = await http.get(f"/stores/{stores.de}/messages?status=bounced", headers=manager_de)
    assert store_page.status_code == 200 and de_id in _ids(store_page.json())
    other = await http.get(f"/stores/{stores.pt}/messages", headers=manager_de)
    assert other.status_code == 403, other.text
    assert (await http.get("/messages", headers=cashier_de)).status_code == 403
    assert (await http.get(f"/stores/{stores.de}/messages", headers=cashier_de)).status_code == 403
    everything = await http.get("/messages?status=bounced&limit=200", headers=admin)
    assert {de_id, pt_id} <= _ids(everything.json())
    bad = await http.get("/messages?status=lost", headers=admin)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "bad_status"
    assert (await http.get("/messages")).status_code == 401

    # Another store's manager cannot even tell the message exists; a cashier may not retry.
    assert (await http.post(f"/messages/{de_id}/retry", headers=manager_pt)).status_code == 404
    assert (await http.post(f"/messages/{de_id}/retry", headers=cashier_de)).status_code == 403
    assert (await http.post("/messages/999999999/retry", headers=admin)).status_code == 404

    smtp.inbox.unknown.discard(de_address)  # the customer fixed their mailbox
    key = {"Idempotency-Key": uuid.uuid4().hex}
    retried = await http.post(f"/messages/{de_id}/retry", headers={**manager_de, **key})
    assert retried.status_code == 200, retried.text
    assert retried.json() == {
        "message_id": de_id,
        "status": "sent",
        "attempts": 1,
        "last_error": "",
    }
    again = await http.post(f"/messages/{de_id}/retry", headers={**manager_de, **key})
    assert again.json() == retried.json() and again.headers.get("Idempotent-Replay") == "true"
    # A sent message is left as it is by a new retry.
    later = await http.post(f"/messages/{de_id}/retry", headers=manager_de)
    assert later.status_code == 200 and later.json()["status"] == "sent"
    arrived = smtp.inbox.to(de_address)
    assert len(arrived) == 1
    assert "Abholcode" in str(arrived[0].get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]  # a plain part exists
    sent_page = await http.get(f"/stores/{stores.de}/messages?status=sent", headers=manager_de)
    assert de_id in _ids(sent_page.json())


async def test_a_sale_receipt_by_email_comes_from_the_recorded_order(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, cashier, db: Database, smtp: SmtpServer, messages_api
) -> None:
    client_id = uuid.uuid4().hex[:16]
    sale = await api.post(
        "/tills/BER1/sales",
        json={
            "client_sale_id": client_id,
            "lines": [{"sku": "NOTEBOOK-A5", "quantity": 2}],
            "tenders": [{"kind": "cash", "amount": 5000}],
        },
        headers=cashier,
    )
    assert sale.status_code == 200, sale.text
    number = sale.json()["sale_id"]
    with db.unit_of_work() as s:
        order = orders.order_by_number(s, number)
        assert order is not None
        total, change = order.total, order.change_due

    address = new_address()
    path = f"/tills/BER1/sales/{number}/email-receipt"
    sent = await messages_api.post(path, json={"email": address.upper()}, headers=cashier)
    assert sent.status_code == 202, sent.text
    assert sent.json()["status"] == "sent"
    again = await messages_api.post(path, json={"email": address}, headers=cashier)
    assert again.status_code == 202 and again.json()["message_id"] == sent.json()["message_id"]

    arrived = smtp.inbox.to(address)
    assert len(arrived) == 1  # the same address twice: one receipt
    mail = arrived[0]
    assert mail["Subject"].startswith(f"Ihr Beleg {number} von ")  # Berlin writes German
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert f"Beleg {number}" in text
    euros = f"€{total // 100}.{total % 100:02d}"
    assert any(ln.startswith("Summe") and ln.endswith(euros) for ln in text.splitlines())
    assert any(ln.startswith("2 x ") for ln in text.splitlines())
    change_text = f"€{change // 100}.{change % 100:02d}"
    assert any(ln.startswith("Rückgeld") and ln.endswith(change_text) for ln in text.splitlines())

    # Not this store's sale, no address to send to, not an address: refused before anything.
    lisbon = await messages_api.post(
        f"/tills/LIS1/sales/{number}/email-receipt", json={"email": address}, headers=cashier
    )
    assert lisbon.status_code in (403, 404), lisbon.text
    missing = await messages_api.post(path, json={}, headers=cashier)
    assert missing.status_code == 422 and missing.json()["error"]["code"] == "no_email"
    wrong = await messages_api.post(path, json={"email": "not-an-address"}, headers=cashier)
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "bad_email"
    unknown = await messages_api.post(
        "/tills/BER1/sales/NO-SUCH-SALE/email-receipt", json={"email": address}, headers=cashier
    )
    assert unknown.status_code == 404
