"""Bearer tokens with roles scoped to locations; PINs and passwords stored as scrypt hashes."""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from api.errors import ApiError, ErrorBody
from api.ratelimit import RateLimits, human_wait
from db.models import User
from db.repositories import bookkeeping, users
from db.repositories.catalog import TillView
from db.repositories.users import GuardKind, GuardState, Principal
from db.session import Database
from tillflow.settings import Settings

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


@functools.cache
def _dummy_hash() -> str:
    return hash_secret(secrets.token_urlsafe(16))


def verify_secret_or_dummy(secret: str, stored: str | None) -> bool:
    """One scrypt whatever is stored: a name that matches no one (or an account without this kind
    of secret) is refused exactly as slowly as a wrong PIN, so timing tells nothing."""
    if stored and stored.startswith("scrypt$") and stored.count("$") == 2:
        return verify_secret(secret, stored)
    verify_secret(secret, _dummy_hash())
    return False


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


# ---- sign-in: throttled, locked after repeated failures -----------------------------------------

WRONG = {
    "staff": "Staff code or PIN is wrong, or you are not signed up for this store.",
    "user": "Username or password is wrong.",
}
SIGN_IN_LOCKED: dict[int | str, dict[str, Any]] = {
    423: {
        "model": ErrorBody,
        "description": "`signin_locked`: too many consecutive wrong sign-ins for this staff code "
        "or username; a manager can unlock it, else wait the Retry-After seconds",
        "headers": {
            "Retry-After": {
                "description": "seconds until the lockout ends",
                "schema": {"type": "integer"},
            }
        },
    }
}


@dataclass(frozen=True)
class SignIn:
    """One attempt: a staff code and PIN at a till, or a username and password (till None)."""

    kind: GuardKind
    name: str
    secret: str
    address: str
    till: TillView | None = None

    @property
    def subject(self) -> str:
        return f"{self.kind}:{self.name}"

    @property
    def throttle_key(self) -> str:
        """Failures are throttled per till + staff code (or per username)."""
        return f"{self.subject}@{self.till.till_code}" if self.till else self.subject


def locked(wait: timedelta) -> ApiError:
    seconds = max(1, int(wait.total_seconds() + 0.999))
    return ApiError(
        423,
        "signin_locked",
        "Too many wrong sign-ins: this account is locked. A manager can unlock it now; otherwise "
        f"try again in {human_wait(seconds)}.",
        {"Retry-After": str(seconds)},
    )


def _may_sign_in(session: Session, user: User, till: TillView | None) -> bool:
    if till is None:
        return True
    return user.role in TILL_ROLES and till.location_id in users.user_location_ids(session, user.id)


def _audit(session: Session, attempt: SignIn, action: str, **detail: Any) -> None:
    where = {"till": attempt.till.till_code} if attempt.till else {}
    bookkeeping.audit(
        session,
        action=action,
        subject=attempt.subject,
        detail={**where, "address": attempt.address, **detail},
    )


def sign_in(
    db: Database, settings: Settings, limits: RateLimits, attempt: SignIn
) -> tuple[User, str, datetime]:
    """The user and a new token, or a refusal: 429 while failures are throttled (per account and
    per address), 423 while the account is locked, else 401 — the same answer, after the same one
    scrypt, whether or not the name belongs to anyone. Every failure and lockout is audited; the
    secret that was tried is never stored."""
    limits.check("signin_failures", caller=attempt.throttle_key, address=attempt.address)
    now = datetime.now(UTC)
    window = timedelta(minutes=settings.signin_lockout_minutes)
    with db.unit_of_work() as s:
        guard = users.hold_sign_in_guard(s, attempt.kind, attempt.name)
        if guard.locked_at is not None and now < guard.locked_at + window:
            _audit(s, attempt, "signin.failed", reason="locked", failures=guard.failures)
            refusal = locked(guard.locked_at + window - now)
        else:
            if guard.locked_at is not None:
                _audit(s, attempt, "signin.lock_expired", failures=guard.failures)
                guard = GuardState(0, None, None)
            if attempt.kind == "staff":
                user = users.user_by_staff_code(s, attempt.name)
                stored = user.pin_hash if user else None
            else:
                user = users.user_by_username(s, attempt.name)
                stored = user.password_hash if user else None
            right = verify_secret_or_dummy(attempt.secret, stored)
            if user is not None and right and _may_sign_in(s, user, attempt.till):
                users.clear_sign_in_guard(s, attempt.kind, attempt.name)
                till_id = attempt.till.till_id if attempt.till else None
                token, expires = issue_token(s, user.id, till_id, settings.token_ttl_hours)
                where = f"till:{attempt.till.till_code}" if attempt.till else attempt.subject
                bookkeeping.audit(
                    s,
                    action="till.login" if attempt.till else "auth.login",
                    subject=where,
                    actor_user_id=user.id,
                )
                return user, token, expires
            stale = guard.last_failure_at is None or guard.last_failure_at < now - window
            failures = 1 if stale else guard.failures + 1
            locks = failures >= settings.signin_max_failures
            users.set_sign_in_guard(
                s, attempt.kind, attempt.name, GuardState(failures, now, now if locks else None)
            )
            reason = "unknown" if user is None else "wrong_secret" if not right else "not_allowed"
            _audit(s, attempt, "signin.failed", reason=reason, failures=failures)
            if locks:
                _audit(
                    s,
                    attempt,
                    "signin.locked",
                    failures=failures,
                    minutes=settings.signin_lockout_minutes,
                )
            users.prune_sign_in_guards(s, now - window - timedelta(days=1))
            refusal = locked(window) if locks else unauthorized(WRONG[attempt.kind])
    limits.count("signin_failures", caller=attempt.throttle_key, address=attempt.address)
    raise refusal
