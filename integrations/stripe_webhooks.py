"""Stripe webhook signatures: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=…]` over `t.` + raw body."""

from __future__ import annotations

import hashlib
import hmac

TOLERANCE_SECONDS = 300


class SignatureError(Exception):
    """The delivery is not provably from Stripe; the message says why."""


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    """The header Stripe would send (used by tests and the local emulator setup)."""
    digest = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256
    ).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(
    payload: bytes, header: str | None, secret: str, now: float, tolerance: int = TOLERANCE_SECONDS
) -> None:
    """Raise SignatureError unless one v1 signature matches and the timestamp is within
    ±tolerance."""
    if not header:
        raise SignatureError("missing Stripe-Signature header")
    parts = [p.strip().partition("=") for p in header.split(",")]
    stamps = [v for k, _, v in parts if k == "t"]
    signatures = [v for k, _, v in parts if k == "v1"]
    if len(stamps) != 1 or not stamps[0].isdigit() or not signatures:
        raise SignatureError("malformed Stripe-Signature header")
    timestamp = int(stamps[0])
    if abs(now - timestamp) > tolerance:
        raise SignatureError(f"timestamp outside the ±{tolerance} s window")
    expected = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256
    ).hexdigest()
    if not any(hmac.compare_digest(expected, s) for s in signatures):
        raise SignatureError("no signature matches")
