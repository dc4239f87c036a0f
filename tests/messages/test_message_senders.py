"""The SMTP sender's modes and answers against real in-process servers: implicit TLS (465-style),
plain (a trusted relay), a refused recipient and a server that is not there."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from integrations.email_smtp import NoEmailSender, SmtpConfig, SmtpEmailSender, message_id
from tests.messages.message_kit import Inbox, free_port, tls_context


@pytest.fixture
def implicit_tls(tmp_path: Path) -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, ssl_context=tls_context(tmp_path)
    )
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
def plain() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


async def test_implicit_tls(implicit_tls: tuple[Inbox, int]) -> None:
    inbox, port = implicit_tls
    sender = SmtpEmailSender(
        SmtpConfig(host="127.0.0.1", port=port, tls="ssl", from_address="a@shop.test",
                   validate_certs=False, timeout_s=10)
    )  # fmt: skip
    out = await sender.send(key="k-ssl", to="x@example.com", subject="S", text="T", language="en")
    assert out.outcome == "sent" and out.provider_id == message_id("k-ssl", "a@shop.test")
    # A plain client could not have talked to this server: TLS from the first byte.
    assert [m["Subject"] for m in inbox.to("x@example.com")] == ["S"]


async def test_plain_relay_and_a_refused_recipient(plain: tuple[Inbox, int]) -> None:
    inbox, port = plain
    inbox.unknown.add("gone@example.com")
    sender = SmtpEmailSender(SmtpConfig(host="127.0.0.1", port=port, tls="none", timeout_s=10))
    out = await sender.send(key="k1", to="y@example.com", subject="Ü", text="ä ö", language="de")
    assert out.outcome == "sent"
    (mail,) = inbox.to("y@example.com")
    raw = email.message_from_bytes(mail.as_bytes(), policy=email.policy.default)
    assert raw["Subject"] == "Ü" and raw["Auto-Submitted"] == "auto-generated"
    bounced = await sender.send(
        key="k2", to="gone@example.com", subject="S", text="T", language="en"
    )
    assert bounced.outcome == "bounced" and "550" in bounced.error


async def test_no_server_is_retried() -> None:
    nobody = SmtpEmailSender(
        SmtpConfig(host="127.0.0.1", port=free_port(), tls="none", timeout_s=5)
    )
    gone = await nobody.send(key="k", to="z@example.com", subject="S", text="T", language="en")
    assert gone.outcome == "retry" and gone.error
    unset = await NoEmailSender().send(key="k", to="z@x.com", subject="S", text="T", language="en")
    assert unset.outcome == "retry" and "TILLFLOW_SMTP_HOST" in unset.error
