"""Who is signed in at the till page, and PIN checks for signing in while the central API is
away."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_pin(pin: str, *, salt: bytes | None = None) -> str:
    """A salted scrypt hash of a PIN, for the offline sign-in of people who signed in here
    online."""
    salt = salt or secrets.token_bytes(16)
    return f"scrypt${salt.hex()}${hashlib.scrypt(pin.encode(), salt=salt, **_SCRYPT).hex()}"


def pin_matches(pin: str, stored: str) -> bool:
    try:
        _, salt_hex, digest_hex = stored.split("$")
        expected = hash_pin(pin, salt=bytes.fromhex(salt_hex)).split("$")[2]
    except ValueError:
        return False
    return hmac.compare_digest(expected, digest_hex)


@dataclass
class Session:
    """A person signed in at this till page; `central_token` is None when signed in offline."""

    token: str
    staff_code: str
    username: str
    display_name: str
    role: str
    central_token: str | None


class Sessions:
    """Page sessions in memory: a restarted agent asks everyone to sign in again."""

    def __init__(self) -> None:
        self._by_token: dict[str, Session] = {}
        # The newest central token per person, so one signed in offline can upload once back online.
        self._central: dict[str, str] = {}

    def open(
        self,
        staff_code: str,
        username: str,
        display_name: str,
        role: str,
        central_token: str | None,
    ) -> Session:
        if central_token:
            self._central.pop(staff_code, None)  # re-inserted last: the newest sign-in uploads
            self._central[staff_code] = central_token
        token = secrets.token_urlsafe(24)
        session = Session(
            token,
            staff_code,
            username,
            display_name,
            role,
            central_token or self._central.get(staff_code),
        )
        self._by_token[token] = session
        return session

    def get(self, token: str | None) -> Session | None:
        return self._by_token.get(token or "")

    def close(self, token: str) -> None:
        self._by_token.pop(token, None)

    def drop_central(self, central_token: str) -> None:
        """The central API no longer accepts this token (expired, signed out)."""
        self._central = {k: v for k, v in self._central.items() if v != central_token}
        for s in self._by_token.values():
            if s.central_token == central_token:
                s.central_token = None

    def any_central_token(self) -> str | None:
        """A token to upload with: the latest sign-in's."""
        tokens = list(self._central.values())
        return tokens[-1] if tokens else None
