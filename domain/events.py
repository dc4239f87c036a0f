"""Outbound events for middleware (issue 19): the event types, the versioned envelope a receiver
gets, the Stripe-style signature, the retry schedule and the rule for a subscriber's URL. Pure."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from domain.errors import InvalidRequest

EventType = Literal[
    "order.created",
    "order.updated",
    "order.fulfilled",
    "order.cancelled",
    "sale.completed",
    "return.completed",
    "stock.changed",
    "shift.closed",
    "product.changed",
]
EVENT_TYPES: tuple[str, ...] = (
    "order.created",
    "order.updated",
    "order.fulfilled",
    "order.cancelled",
    "sale.completed",
    "return.completed",
    "stock.changed",
    "shift.closed",
    "product.changed",
)
BODY_VERSION = 1
SIGNATURE_HEADER = "Tillflow-Signature"
# Event ids made from a business key: the same change emitted twice (an activity retried) is one
# event with one id.
EVENT_NAMESPACE = uuid.UUID("6f1c1c4e-3b9a-4f55-9a55-2f3f1a6b9e19")


@dataclass(frozen=True, kw_only=True)
class Event:
    """One business change, as it is written to the outbox: `entity` orders delivery (events of
    one entity reach a receiver in the order they happened); `key` names the change so that
    emitting it again is a no-op."""

    type: EventType
    entity: str  # e.g. "order:web:1001", "sku:TEE-M@BER", "shift:BER1:7"
    key: str  # a business key unique per change, e.g. "sale:BER1:abc"
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def event_id(self) -> str:
        return f"evt_{uuid.uuid5(EVENT_NAMESPACE, f'{self.type}|{self.key}').hex}"


def envelope(
    *, event_id: str, type: str, entity: str, created: datetime, data: dict[str, Any]
) -> dict[str, Any]:
    """The JSON body a receiver gets (version 1)."""
    return {
        "id": event_id,
        "type": type,
        "version": BODY_VERSION,
        "created": created.isoformat(),
        "entity": entity,
        "data": data,
    }


def encode_body(body: dict[str, Any]) -> bytes:
    """The exact bytes sent and signed."""
    return json.dumps(body, separators=(",", ":"), sort_keys=True, default=str).encode()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """hex HMAC-SHA256(secret, f"{t}.{body}")."""
    msg = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest()


def signature_header(secrets: Sequence[str], timestamp: int, body: bytes) -> str:
    """`t=<unix>,v1=<hex>[,v1=<hex>]`: one v1 per valid secret (two while a rotation overlaps)."""
    if not secrets:
        raise InvalidRequest("A subscription needs a secret to sign with.", code="no_secret")
    return ",".join([f"t={timestamp}", *(f"v1={sign(s, timestamp, body)}" for s in secrets)])


def verify(header: str, body: bytes, secret: str, now: int, tolerance_s: int = 300) -> bool:
    """A receiver's check (used by the docs and tests): some v1 matches and t is recent."""
    parts = [p.split("=", 1) for p in header.split(",") if "=" in p]
    stamps = [v for k, v in parts if k == "t"]
    if len(stamps) != 1 or not stamps[0].isdigit():
        return False
    t = int(stamps[0])
    if abs(now - t) > tolerance_s:
        return False
    expected = sign(secret, t, body)
    return any(k == "v1" and hmac.compare_digest(v, expected) for k, v in parts)


def backoff_s(attempt: int, *, initial_s: float, cap_s: float) -> float:
    """Wait after failed attempt `attempt` (1-based): initial, doubled each time, capped."""
    return float(min(cap_s, initial_s * (2 ** max(0, attempt - 1))))


def check_event_types(types: Iterable[str]) -> tuple[str, ...]:
    """The event types asked for, deduplicated in our order; '*' means all."""
    wanted = set(types)
    if "*" in wanted:
        return EVENT_TYPES
    unknown = sorted(wanted - set(EVENT_TYPES))
    if unknown:
        raise InvalidRequest(
            f"Unknown event type {', '.join(unknown)}; known: {', '.join(EVENT_TYPES)}.",
            code="unknown_event_type",
        )
    if not wanted:
        raise InvalidRequest("Subscribe to at least one event type.", code="no_event_types")
    return tuple(t for t in EVENT_TYPES if t in wanted)


def check_url(url: str, *, require_https: bool, allow_private: bool) -> str:
    """A subscriber URL: http(s) with a host; https when required; no loopback, private,
    link-local or reserved address (nor `localhost`) unless allowed."""
    if len(url) > 2000:
        raise InvalidRequest("The URL is longer than 2000 characters.", code="bad_url")
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        _ = parts.port
    except ValueError as err:
        raise InvalidRequest(f"Not a valid URL: {err}.", code="bad_url") from None
    if parts.scheme not in ("https", "http") or not host:
        raise InvalidRequest("The URL must be http(s)://host/...", code="bad_url")
    if require_https and parts.scheme != "https":
        raise InvalidRequest("The URL must use https.", code="https_required")
    if parts.username or parts.password:
        raise InvalidRequest("The URL must not carry credentials.", code="bad_url")
    if not allow_private and _private_host(host):
        raise InvalidRequest(
            f"{host} is a private, loopback or reserved address; events go to public hosts.",
            code="private_url",
        )
    return url


def _private_host(host: str) -> bool:
    name = host.lower().rstrip(".")
    if name == "localhost" or name.endswith((".localhost", ".local", ".internal")):
        return True
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        return False
    return not ip.is_global or ip.is_multicast
