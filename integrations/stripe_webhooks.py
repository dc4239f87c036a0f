"""Stripe webhook signatures: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=…]` over `t.` + raw body."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence

TOLERANCE_SECONDS = 300


class SignatureError(Exception):
    """The delivery is not provably from Stripe; the message says why."""


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    """The header Stripe would send (used by tests and the local emulator setup)."""
    digest = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256
    ).hexdigest()
    return f"t={timestamp},v1={digest}"


MAX_HEADER_LENGTH = 2048  # a timestamp and a handful of signatures (a secret being rolled)
MAX_SIGNATURES = 8
_SIGNATURE = re.compile(r"[0-9a-f]{64}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # seconds since 1970, ASCII digits only


def parse(header: str | None) -> tuple[int, list[str]]:
    """The timestamp and the v1 signatures of a header; SignatureError when it is malformed.

    Refused: a missing or over-long header, a part that is not `key=value`, no or several `t`, a
    timestamp that is not 1-12 ASCII digits, no v1, a v1 that is not 64 lowercase hex digits,
    the same v1 twice or more than MAX_SIGNATURES of them. Other schemes (v0) are ignored, as
    Stripe's own libraries do."""
    if not header:
        raise SignatureError("missing Stripe-Signature header")
    if len(header) > MAX_HEADER_LENGTH or not header.isascii():
        raise SignatureError("malformed Stripe-Signature header")
    stamps: list[str] = []
    signatures: list[str] = []
    for part in header.split(","):
        key, eq, value = part.strip().partition("=")
        if not eq or not key:
            raise SignatureError("malformed Stripe-Signature header")
        if key == "t":
            stamps.append(value)
        elif key == "v1":
            signatures.append(value)
    if len(stamps) != 1 or not _TIMESTAMP.fullmatch(stamps[0]):
        raise SignatureError("malformed Stripe-Signature timestamp")
    if not signatures or len(signatures) > MAX_SIGNATURES:
        raise SignatureError("malformed Stripe-Signature header: no or too many v1 signatures")
    if len(set(signatures)) != len(signatures) or not all(map(_SIGNATURE.fullmatch, signatures)):
        raise SignatureError("malformed Stripe-Signature v1 signature")
    return int(stamps[0]), signatures


def verify(
    payload: bytes,
    header: str | None,
    secret: str | Sequence[str],
    now: float,
    tolerance: int = TOLERANCE_SECONDS,
) -> None:
    """Raise SignatureError unless one v1 signature matches (with the secret, or any of the
    secrets valid during a rotation) and the timestamp is within ±tolerance."""
    timestamp, signatures = parse(header)
    if abs(now - timestamp) > tolerance:
        raise SignatureError(f"timestamp outside the ±{tolerance} s window")
    keys = [secret] if isinstance(secret, str) else [k for k in secret if k]
    signed = f"{timestamp}.".encode() + payload
    expected = [hmac.new(k.encode(), signed, hashlib.sha256).hexdigest() for k in keys]
    # Every candidate is compared (no early exit): the time taken says nothing about which matched.
    if not sum(hmac.compare_digest(e, s) for e in expected for s in signatures):
        raise SignatureError("no signature matches")
