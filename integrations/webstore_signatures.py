"""Webhook signatures of Shopify (`X-Shopify-Hmac-Sha256`) and WooCommerce
(`X-WC-Webhook-Signature`).

Both are base64 HMAC-SHA256 of the raw request body with the shared secret; compared in constant
time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


class SignatureError(Exception):
    """The delivery is not provably from the web store; the message says why."""


def sign(payload: bytes, secret: str) -> str:
    """The header value the web store sends for this body (tests and the benchmark use it)."""
    return base64.b64encode(hmac.new(secret.encode(), payload, hashlib.sha256).digest()).decode()


def verify(payload: bytes, header: str | None, secret: str) -> None:
    """Raise SignatureError unless the header is the HMAC of the raw body with the secret."""
    if not secret:
        raise SignatureError("no webhook secret is configured for this store")
    if not header:
        raise SignatureError("the signature header is missing")
    if not hmac.compare_digest(sign(payload, secret).encode(), header.strip().encode()):
        raise SignatureError("the signature does not match the body")
