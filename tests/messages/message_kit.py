"""Customer-message test kit: a real SMTP server in-process (aiosmtpd on 127.0.0.1, an ephemeral
port, STARTTLS with a throw-away certificate and AUTH), FakeSms speaking Twilio's Messages API, a
clock the tests move, stores of their own and outbox rows written the way the workflows write them.
"""

from __future__ import annotations

import base64
import datetime as dt
import email
import email.policy
import json
import re
import socket
import ssl
import threading
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from activities.fulfilment import NoticeActivities
from contracts.notices import Notice
from db.models import Location
from db.session import Database
from integrations.notifier import OutboxNotifier

SMTP_USER = "tillflow-mailer"
SMTP_PASSWORD = f"pw-{uuid.uuid4().hex}"
TWILIO_SID = "AC" + uuid.uuid4().hex
TWILIO_TOKEN = uuid.uuid4().hex
TWILIO_FROM = "+4930555000111"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tls_context(directory: Path) -> ssl.SSLContext:
    """A self-signed certificate for 127.0.0.1 (the client runs with validate_certs off)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "smtp.crt", directory / "smtp.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


class Inbox:
    """The SMTP server's handler: keeps what arrives; refuses on demand (451 at DATA for the next
    N messages to an address in `refuse`, 550 at RCPT for the addresses in `unknown`)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.arrived: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str], bool]] = []  # from, to, over TLS
        self.refuse: dict[str, int] = {}
        self.unknown: set[str] = set()

    async def handle_RCPT(  # noqa: N802  aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.unknown:
            return "550 5.1.1 <" + address + ">: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802  aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        with self.lock:
            for address in envelope.rcpt_tos:
                if self.refuse.get(address, 0) > 0:
                    self.refuse[address] -= 1
                    return "451 4.3.0 Mail server temporarily rejected message"
            content = envelope.original_content or envelope.content
            assert isinstance(content, bytes)
            parsed = email.message_from_bytes(content, policy=email.policy.default)
            assert isinstance(parsed, EmailMessage)
            self.arrived.append(parsed)
            self.envelopes.append(
                (str(envelope.mail_from), list(envelope.rcpt_tos), session.ssl is not None)
            )
        return "250 2.0.0 Ok: queued"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.arrived if m["To"] == address]


def _authenticator(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login.decode() == SMTP_USER
        and auth_data.password.decode() == SMTP_PASSWORD
    )
    return AuthResult(success=ok)


@dataclass
class SmtpServer:
    inbox: Inbox
    port: int
    controller: Controller

    def stop(self) -> None:
        self.controller.stop()


def start_smtp(directory: Path) -> SmtpServer:
    inbox = Inbox()
    port = free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=tls_context(directory),
        require_starttls=True,
        authenticator=_authenticator,
        auth_required=True,
    )
    controller.start()
    return SmtpServer(inbox, port, controller)


# ---- FakeSms: Twilio's Messages resource ---------------------------------------------------------


@dataclass
class Texted:
    to: str
    sender: str
    body: str
    sid: str


@dataclass
class FakeSms:
    """Twilio's `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` as documented: basic auth
    with the account SID and auth token, a form body (To, From or MessagingServiceSid, Body); 201
    with the Message resource, or Twilio's error object ({code, message, more_info, status})."""

    sent: list[Texted] = field(default_factory=list)
    fail_next: int = 0  # answer 503 to the next N requests
    requests: int = 0

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    @staticmethod
    def _error(status: int, code: int, message: str) -> httpx.Response:
        return httpx.Response(
            status,
            json={
                "code": code,
                "message": message,
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": status,
            },
        )

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        path = re.fullmatch(r"/2010-04-01/Accounts/(AC[0-9a-f]+)/Messages\.json", request.url.path)
        if request.method != "POST" or path is None:
            return self._error(404, 20404, "The requested resource was not found")
        expected = base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
        if path.group(1) != TWILIO_SID or request.headers.get("authorization") != (
            f"Basic {expected}"
        ):
            return self._error(401, 20003, "Authenticate")
        if request.headers.get("content-type") != "application/x-www-form-urlencoded":
            return self._error(400, 20001, "Form body expected")
        if self.fail_next > 0:
            self.fail_next -= 1
            return self._error(503, 20503, "Service unavailable")
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        to, sender, body = form.get("To", ""), form.get("From", ""), form.get("Body", "")
        if not re.fullmatch(r"\+[1-9][0-9]{6,14}", to):
            return self._error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not sender:
            return self._error(400, 21603, "The 'From' phone number is required.")
        sid = "SM" + uuid.uuid4().hex
        self.sent.append(Texted(to=to, sender=sender, body=body, sid=sid))
        now = dt.datetime.now(dt.UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
        resource = {
            "account_sid": TWILIO_SID,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": sender,
            "messaging_service_sid": None,
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "to": to,
            "uri": f"/2010-04-01/Accounts/{TWILIO_SID}/Messages/{sid}.json",
        }
        return httpx.Response(201, content=json.dumps(resource).encode(), headers={
            "content-type": "application/json"
        })  # fmt: skip

    def to(self, number: str) -> list[Texted]:
        return [t for t in self.sent if t.to == number]


# ---- a clock the tests move ------------------------------------------------------------------


class Clock:
    """Real time plus an offset (the drain's backoff is measured on it)."""

    def __init__(self) -> None:
        self.offset = dt.timedelta(0)

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset


# ---- stores and outbox rows --------------------------------------------------------------------


def make_store(db: Database, country: str, timezone: str, name: str) -> str:
    """A store of this test run (unique code) in `country`; returns its code."""
    code = f"M{uuid.uuid4().hex[:8].upper()}"
    with db.unit_of_work() as s:
        s.add(
            Location(
                code=code,
                name=name,
                kind="store",
                timezone=timezone,
                address=f"{name} street 1",
                currency="EUR",
                country=country,
            )
        )
    return code


def ready_for_pickup(
    db: Database, store: str, recipient: str, *, channel: str = "email"
) -> tuple[str, str, str]:
    """The ready-for-pickup notice exactly as the Bopis workflow hands it to `notices.send`
    (workflows/bopis.py, fulfilment_base._notify); returns (order number, pickup code, key)."""
    order = f"W{uuid.uuid4().hex[:8].upper()}"
    code = f"{uuid.uuid4().int % 1_000_000:06d}"
    wf = f"bopis:order:test:{order}:{store}"
    key = f"{wf}:ready_for_pickup:0"
    NoticeActivities(OutboxNotifier(db)).send(
        Notice(
            key=key,
            kind="ready_for_pickup",
            recipient=recipient,
            subject=f"Your order {order} is ready for pickup at {store}",
            body=f"Hello there,\n\nyour order {order} is ready. Your pickup code: {code}.",
            reference=wf,
            channel=channel,
            data={
                "order": order,
                "store": store,
                "code": code,
                "barcode": f"PU{order}{code}",
                "deadline": "2026-12-05T17:00:00+00:00",
            },
        )
    )
    return order, code, key


def new_address() -> str:
    return f"customer-{uuid.uuid4().hex[:10]}@example.com"
