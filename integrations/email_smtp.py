"""E-mail to customers over SMTP (aiosmtplib): implicit TLS (port 465), STARTTLS (587) or plain
(a relay on the local network), with or without AUTH.

Each message carries a Message-ID made from its outbox key, so the same message always has the same
id (what mail systems deduplicate on) and staff can find it in the relay's logs. The server's answer
decides what happens next: accepted = sent; a 5xx refusal of the recipient = bounced; any other
5xx = failed; 4xx, timeouts and refused connections = try again later.
"""

from __future__ import annotations

import hashlib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate, parseaddr
from typing import Literal, Protocol

import aiosmtplib

from contracts.messages import SendOutcome

TlsMode = Literal["starttls", "ssl", "none"]


class EmailSender(Protocol):
    async def send(
        self, *, key: str, to: str, subject: str, text: str, language: str
    ) -> SendOutcome:
        """Hand one message to the mail system; never raises for a refusal (see SendOutcome)."""
        ...


@dataclass(frozen=True, kw_only=True)
class SmtpConfig:
    host: str
    port: int
    tls: TlsMode = "starttls"
    username: str = ""
    password: str = ""
    from_address: str = "shop@localhost"
    from_name: str = ""
    timeout_s: float = 30.0
    validate_certs: bool = True


def message_id(key: str, from_address: str) -> str:
    """The Message-ID of the outbox message `key` (the same on every attempt)."""
    domain = parseaddr(from_address)[1].rpartition("@")[2] or "tillflow.local"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@{domain}>"


def build_message(
    config: SmtpConfig, *, key: str, to: str, subject: str, text: str, language: str
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = formataddr((config.from_name, config.from_address))
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = message_id(key, config.from_address)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to a robot
    msg.set_content(text)
    msg["Content-Language"] = language  # after set_content, which resets the Content-* headers
    return msg


def _words(err: aiosmtplib.SMTPResponseException) -> str:
    return f"{err.code} {err.message}".strip()[:1000]


class SmtpEmailSender:
    """The real mail sender (one SMTP session per message: a drain sends a few at a time)."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    async def send(
        self, *, key: str, to: str, subject: str, text: str, language: str
    ) -> SendOutcome:
        """Send one message; the server's refusal comes back as the outcome, not an error."""
        c = self.config
        msg = build_message(c, key=key, to=to, subject=subject, text=text, language=language)
        mid = str(msg["Message-ID"])
        try:
            await aiosmtplib.send(
                msg,
                hostname=c.host,
                port=c.port,
                username=c.username or None,
                password=c.password or None,
                use_tls=c.tls == "ssl",
                start_tls=c.tls == "starttls",
                validate_certs=c.validate_certs,
                timeout=c.timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as err:
            refusals = err.recipients
            words = "; ".join(_words(r) for r in refusals)
            permanent = all(r.code >= 500 for r in refusals)
            return SendOutcome(outcome="bounced" if permanent else "retry", error=words)
        except aiosmtplib.SMTPAuthenticationError as err:
            # Wrong credentials are the operator's to fix: keep trying (with backoff) meanwhile.
            return SendOutcome(outcome="retry", error=f"authentication refused: {_words(err)}")
        except aiosmtplib.SMTPResponseException as err:
            return SendOutcome(outcome="failed" if err.code >= 500 else "retry", error=_words(err))
        except (aiosmtplib.SMTPException, OSError, ssl.SSLError, TimeoutError) as err:
            return SendOutcome(outcome="retry", error=f"{type(err).__name__}: {err}"[:1000])
        return SendOutcome(outcome="sent", provider_id=mid)


class NoEmailSender:
    """Stands in while no SMTP server is configured: every message waits (pending) with why."""

    async def send(
        self, *, key: str, to: str, subject: str, text: str, language: str
    ) -> SendOutcome:
        """Send nothing; the message is retried once a server is configured."""
        return SendOutcome(
            outcome="retry", error="no SMTP server is configured (TILLFLOW_SMTP_HOST)"
        )
