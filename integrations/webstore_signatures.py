"""Webhook signatures of Shopify (`X-Shopify-Hmac-Sha256`) and WooCommerce
(`X-WC-Webhook-Signature`).

Both are base64 HMAC-SHA256 of the raw request body with the shared secret; compared in constant
time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Sequence


class SignatureError(Exception):
    """The delivery is not provably from the web store; the message says why."""


def sign(payload: bytes, secret: str) -> str:
    """The header value the web store sends for this body (tests and the benchmark use it)."""
    return base64.b64encode(hmac.new(secret.encode(), payload, hashlib.sha256).digest()).decode()


# base64 of a 32-byte HMAC-SHA256: 43 characters of the standard alphabet and one `=` of padding.
_SIGNATURE = re.compile(r"[A-Za-z0-9+/]{43}=")


def verify(payload: bytes, header: str | None, secret: str | Sequence[str]) -> None:
    """Raise SignatureError unless the header is the HMAC of the raw body with the secret (or
    with any of the secrets valid during a rotation).

    A header that cannot be a signature at all (not ASCII, not base64 of 32 bytes, several values
    joined by a proxy) is refused as malformed before any HMAC is computed."""
    keys = [secret] if isinstance(secret, str) else list(secret)
    keys = [k for k in keys if k]
    if not keys:
        raise SignatureError("no webhook secret is configured for this store")
    if not header:
        raise SignatureError("the signature header is missing")
    if not _SIGNATURE.fullmatch(header.strip()):
        raise SignatureError("the signature header is malformed")
    given = header.strip().encode()
    # Every secret is tried (no early exit): the time taken says nothing about which matched.
    if not sum(hmac.compare_digest(sign(payload, k).encode(), given) for k in keys):
        raise SignatureError("the signature does not match the body")
