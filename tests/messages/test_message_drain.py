"""The outbox drain (MessageDrain workflow -> messages.drain) against a real SMTP server and
FakeSms: a pickup code arrives in the store's language, a refusal is retried after its backoff,
nothing is sent twice (not on a repeated drain, not after a worker died mid-send), bounces and
give-ups are recorded, and texts go through Twilio's API."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from temporalio.client import Client

from contracts.messages import DrainResult, drain_now
from db.repositories import messages
from db.repositories.messages import INTERRUPTED, MessageRow
from db.session import Database
from tests.messages.conftest import Stores
from tests.messages.message_kit import (
    TWILIO_FROM,
    Clock,
    FakeSms,
    SmtpServer,
    new_address,
    ready_for_pickup,
)


async def drain(client: Client, queue: str) -> DrainResult:
    return await drain_now(client, task_queue=queue, workflow_id=f"test-drain-{uuid.uuid4().hex}")


def row(db: Database, key: str) -> MessageRow:
    with db.unit_of_work() as s:
        message_id = messages.id_by_key(s, key)
        assert message_id is not None
        found = messages.message(s, message_id)
    assert found is not None
    return found


async def test_pickup_code_arrives_in_the_store_language(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    temporal_client: Client, db: Database, smtp: SmtpServer, stores: Stores, message_worker
) -> None:
    sent: dict[str, tuple[str, str, str, str]] = {}
    for language, store in (("de", stores.de), ("pt", stores.pt), ("en", stores.us)):
        address = new_address()
        order, code, key = ready_for_pickup(db, store, address)
        sent[language] = (address, order, code, key)

    result = await drain(temporal_client, message_worker)
    assert result.sent >= 3

    expected = {
        "de": (
            "Ihre Bestellung {order} liegt zur Abholung bei Laden Mitte bereit",
            "Ihr Abholcode",
        ),
        "pt": (
            "A sua encomenda {order} está pronta para levantamento em Loja Chiado",
            "O seu código de levantamento",
        ),
        "en": ("Your order {order} is ready for pickup at Shop Soho", "Your pickup code"),
    }
    for language, (address, order, code, key) in sent.items():
        arrived = smtp.inbox.to(address)
        assert len(arrived) == 1, language
        mail = arrived[0]
        subject, code_words = expected[language]
        assert mail["Subject"] == subject.format(order=order)
        assert mail["Content-Language"] == language
        assert mail["From"] == "Tillflow Shop <shop@tillflow.test>"
        body = mail.get_body(preferencelist=("plain",))
        assert body is not None
        content = body.get_content()
        assert f"{code_words}: {code}" in content
        assert order in content
        stored = row(db, key)
        assert stored.status == "sent" and stored.attempts == 1
        assert stored.provider_id == mail["Message-ID"]
        assert stored.sent_at is not None
    # The deadline in Berlin's own time and words; the session went over STARTTLS with AUTH.
    german = smtp.inbox.to(sent["de"][0])[0].get_body(preferencelist=("plain",))
    assert german is not None and "Sa, 05.12. 18:00 Uhr" in german.get_content()
    envelopes = [e for e in smtp.inbox.envelopes if e[1] == [sent["de"][0]]]
    assert envelopes == [("shop@tillflow.test", [sent["de"][0]], True)]


async def test_a_refusal_is_retried_after_its_backoff_and_sent_once(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    temporal_client: Client,
    db: Database,
    smtp: SmtpServer,
    stores: Stores,
    clock: Clock,
    message_worker,
) -> None:
    address = new_address()
    _, code, key = ready_for_pickup(db, stores.de, address)
    smtp.inbox.refuse[address] = 1  # 451 at DATA: the server wants us to come back later
    try:
        await drain(temporal_client, message_worker)
        first = row(db, key)
        assert first.status == "pending" and first.attempts == 1
        assert first.last_error is not None and first.last_error.startswith("451")
        assert first.next_attempt_at is not None and first.last_attempt_at is not None
        assert first.next_attempt_at - first.last_attempt_at == timedelta(seconds=30)
        assert smtp.inbox.to(address) == []

        await drain(temporal_client, message_worker)  # still inside the backoff: not tried
        assert row(db, key).attempts == 1

        clock.offset = timedelta(seconds=31)
        await drain(temporal_client, message_worker)
        done = row(db, key)
        assert done.status == "sent" and done.attempts == 2 and done.last_error is None

        await drain(temporal_client, message_worker)  # and again: nothing more goes out
        arrived = smtp.inbox.to(address)
        assert len(arrived) == 1
        plain = arrived[0].get_body(preferencelist=("plain",))
        assert plain is not None and code in plain.get_content()
    finally:
        clock.offset = timedelta(0)


async def test_a_message_claimed_by_a_worker_that_died_is_never_resent(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    temporal_client: Client, db: Database, smtp: SmtpServer, stores: Stores, message_worker
) -> None:
    address = new_address()
    _, _, key = ready_for_pickup(db, stores.pt, address)
    message_id = row(db, key).id
    # A drain claimed it five minutes ago and then vanished (it may have sent it, or not).
    with db.unit_of_work() as s:
        claimed = messages.claim_one(s, message_id, datetime.now(UTC) - timedelta(minutes=5))
    assert claimed is not None

    result = await drain(temporal_client, message_worker)
    assert result.interrupted >= 1
    after = row(db, key)
    assert after.status == "failed" and after.last_error == INTERRUPTED
    await drain(temporal_client, message_worker)
    assert smtp.inbox.to(address) == []
    assert row(db, key).attempts == 1


async def test_an_unknown_recipient_is_a_bounce_and_repeated_refusals_give_up(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    temporal_client: Client,
    db: Database,
    smtp: SmtpServer,
    stores: Stores,
    clock: Clock,
    message_worker,
) -> None:
    gone = new_address()
    smtp.inbox.unknown.add(gone)
    _, _, bounced_key = ready_for_pickup(db, stores.us, gone)
    await drain(temporal_client, message_worker)
    bounced = row(db, bounced_key)
    assert bounced.status == "bounced" and bounced.attempts == 1
    assert bounced.last_error is not None and "550 5.1.1" in bounced.last_error

    stubborn = new_address()
    _, _, key = ready_for_pickup(db, stores.us, stubborn)
    try:
        for n in range(3):  # max_attempts is 3 in this package's worker
            clock.offset = timedelta(hours=n)
            smtp.inbox.refuse[stubborn] = 1
            await drain(temporal_client, message_worker)
        failed = row(db, key)
        assert failed.status == "failed" and failed.attempts == 3
        assert failed.last_error is not None
        assert failed.last_error.startswith("gave up after 3 attempts: 451")
        assert smtp.inbox.to(stubborn) == []
    finally:
        clock.offset = timedelta(0)


async def test_texts_go_through_twilio(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    temporal_client: Client,
    db: Database,
    sms: FakeSms,
    stores: Stores,
    clock: Clock,
    message_worker,
) -> None:
    number = f"+3519{uuid.uuid4().int % 10**8:08d}"
    order, code, key = ready_for_pickup(db, stores.pt, number, channel="sms")
    sms.fail_next = 1  # Twilio answers 503 once
    try:
        await drain(temporal_client, message_worker)
        waiting = row(db, key)
        assert waiting.status == "pending" and "twilio 503/20503" in (waiting.last_error or "")
        clock.offset = timedelta(seconds=31)
        await drain(temporal_client, message_worker)
    finally:
        sms.fail_next = 0
        clock.offset = timedelta(0)
    texts = sms.to(number)
    assert len(texts) == 1
    assert texts[0].sender == TWILIO_FROM
    assert texts[0].body == (
        f"Loja Chiado: encomenda {order} pronta. Código {code}, levantar até sáb, 05/12 17:00."
    )
    done = row(db, key)
    assert done.status == "sent" and done.provider_id == texts[0].sid

    _, _, bad_key = ready_for_pickup(db, stores.pt, "0800-not-a-number", channel="sms")
    await drain(temporal_client, message_worker)
    bad = row(db, bad_key)
    assert bad.status == "bounced"
    assert bad.last_error is not None and "21211" in bad.last_error
