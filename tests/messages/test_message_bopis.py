"""A real pickup order: a Shopify order for pickup in Berlin runs OnlineOrder -> Bopis on the
time-skipping Temporal, staff pick it, the Bopis workflow writes its ready-for-pickup notice to the
outbox, and the message activity delivers exactly that notice to a real SMTP server, in German,
with the customer's name and the pickup code the workflow issued."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from helpers.api import asgi_api, password_login
from helpers.fake_shopify import FakeShopifyServer
from helpers.fulfilment import Orders, shopify_store
from helpers.webstore import barcode_of, eventually, new_product

from activities.messages import MessageActivities
from contracts.messages import DeliverCmd, MessageConfig
from db.repositories import messages
from db.session import Database
from integrations.email_smtp import SmtpConfig, SmtpEmailSender
from tests.messages.message_kit import SMTP_PASSWORD, SMTP_USER, SmtpServer


@pytest.fixture(scope="module")
def bopis_shopify() -> Iterator[FakeShopifyServer]:
    server = FakeShopifyServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def bopis_shop(db: Database, bopis_shopify: FakeShopifyServer) -> Iterator[Any]:
    with shopify_store(db, bopis_shopify) as store:
        yield store


@pytest.fixture(scope="module")
async def bopis_api(db: Database, fulfilment_env, test_settings, gateway) -> AsyncIterator[Any]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    async with asgi_api(
        test_settings, db=db, client=fulfilment_env.client, gateway=gateway
    ) as http:
        yield http


async def test_the_pickup_code_of_a_real_bopis_order_reaches_the_customer(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db: Database, fulfilment_env, bopis_shop, bopis_shopify, bopis_api, smtp: SmtpServer
) -> None:
    orders = Orders(fulfilment_env, db, bopis_shop, bopis_shopify, bopis_api)
    finn = await password_login(bopis_api, "finn", "fulfil-demo")
    sku = new_product(db, {"BER": 2})
    wf = await orders.place([(sku, 1)], pickup="BER")
    number = await eventually(lambda: orders.number(wf))
    task = await orders.task("BER", wf, "pick", finn)
    claimed = await bopis_api.post(f"/fulfilment/BER/tasks/{task['id']}/claim", headers=finn)
    assert claimed.status_code == 200, claimed.text
    picked = await bopis_api.post(
        f"/fulfilment/BER/tasks/{task['id']}/picked",
        headers=finn,
        json={"scans": [{"barcode": barcode_of(db, sku), "quantity": 1}]},
    )
    assert picked.status_code == 200 and picked.json()["phase"] == "ready", picked.text
    (ready,) = orders.notices(f"bopis:{wf}:BER", "ready_for_pickup")
    code = ready.data["code"]

    sender = SmtpEmailSender(
        SmtpConfig(
            host="127.0.0.1",
            port=smtp.port,
            username=SMTP_USER,
            password=SMTP_PASSWORD,
            from_address="shop@tillflow.test",
            timeout_s=10,
            validate_certs=False,
        )
    )
    delivered = await MessageActivities(db, sender, None, MessageConfig()).deliver(
        DeliverCmd(message_id=ready.id)
    )
    assert delivered.status == "sent" and delivered.attempts == 1

    (mail,) = [m for m in smtp.inbox.to("kim@example.test") if number in m["Subject"]]
    assert mail["Subject"].startswith(f"Ihre Bestellung {number} liegt zur Abholung bei ")
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert text.startswith("Hallo Kim Kunde,")
    assert f"Ihr Abholcode: {code}" in text
    with db.unit_of_work() as s:
        row = messages.message(s, ready.id)
    assert row is not None and row.status == "sent" and row.provider_id == mail["Message-ID"]
