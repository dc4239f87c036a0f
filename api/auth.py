"""Bearer tokens with roles scoped to locations; PINs and passwords stored as scrypt hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from api.errors import ApiError
from db.repositories import users
from db.repositories.catalog import TillView
from db.repositories.users import Principal

TILL_ROLES = frozenset({"cashier", "manager"})
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_secret(secret: str, *, salt: bytes | None = None) -> str:
    """scrypt (stdlib) with a random salt; the format keeps the salt beside the hash."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def verify_secret(secret: str, stored: str | None) -> bool:
    if not stored or not stored.startswith("scrypt$"):
        return False
    _, salt_hex, digest_hex = stored.split("$")
    expected = hash_secret(secret, salt=bytes.fromhex(salt_hex)).split("$")[2]
    return hmac.compare_digest(expected, digest_hex)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    session: Session, user_id: int, till_id: int | None, ttl_hours: int
) -> tuple[str, datetime]:
    token = secrets.token_urlsafe(32)
    expires = datetime.now(UTC) + timedelta(hours=ttl_hours)
    users.add_token(
        session, token_hash=token_hash(token), user_id=user_id, till_id=till_id, expires_at=expires
    )
    return token, expires


def unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, {"WWW-Authenticate": "Bearer"})


def _bearer(authorization: str | None) -> str:
    """The token's hash from an Authorization header; 401 when there is none or it is malformed."""
    if not authorization:
        raise unauthorized("Sign in first: this needs an 'Authorization: Bearer <token>' header.")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("The Authorization header must be 'Bearer <token>'.")
    return token_hash(token.strip())


_UNKNOWN_TOKEN = "This token is unknown, expired or signed out; sign in again."


def authenticate(session: Session, authorization: str | None) -> Principal:
    principal = users.principal_for_token(session, _bearer(authorization), datetime.now(UTC))
    if principal is None:
        raise unauthorized(_UNKNOWN_TOKEN)
    return principal


def authenticate_at_till(
    session: Session | Connection, authorization: str | None, till_code: str
) -> tuple[Principal, TillView | None]:
    """The caller (401 if unknown) and the till (None if there is none), read together."""
    found = users.principal_at_till(session, _bearer(authorization), datetime.now(UTC), till_code)
    if found is None:
        raise unauthorized(_UNKNOWN_TOKEN)
    return found


def require_till(principal: Principal, till: TillView) -> None:
    """Cashiers act only at the till they signed in at; managers at any till of their stores."""
    if principal.role not in TILL_ROLES:
        raise ApiError(403, "forbidden", f"A {principal.role} cannot use the till.")
    if till.location_id not in principal.location_ids:
        raise ApiError(403, "forbidden", f"You are not signed up for store {till.location_code}.")
    if principal.role == "cashier" and principal.till_id not in (None, till.till_id):
        raise ApiError(
            403, "forbidden", f"You are signed in at another till, not {till.till_code}."
        )
