"""Rate limits of the API: one moving-window limiter (the `limits` library) per API process.

Each limited group counts per caller (a bearer token, a storefront key, a staff code at a till, an
order) and per source address, with the limits from Settings (`rate_limit_*`). A refusal is a 429
`rate_limited` in the usual error shape, with Retry-After: the seconds until the oldest counted
event leaves the window. Attach a group to routes with `dependencies=[ratelimit.GIFT_CARDS]`;
groups that count failures rather than requests (sign-in, curbside codes) call `check` before and
`count` after a failure.

The counters live in this process's memory: N API replicas allow up to N times each limit, and a
restart forgets them. Lockouts that must hold across replicas (sign-in) are in PostgreSQL instead.
Callers are counted by the SHA-256 of their token or key, never the secret itself.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable
from typing import Any, Literal

from fastapi import Depends, FastAPI, Request
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from api.errors import ApiError, ErrorBody
from tillflow.settings import Settings

Group = Literal["signin", "signin_failures", "giftcards", "returns", "storefront", "curbside"]

# The settings holding each group's limits: (per caller, per source address).
_SETTINGS: dict[Group, tuple[str | None, str]] = {
    "signin": (None, "rate_limit_signin_address"),
    "signin_failures": (
        "rate_limit_signin_failures_account",
        "rate_limit_signin_failures_address",
    ),
    "giftcards": ("rate_limit_giftcard_token", "rate_limit_giftcard_address"),
    "returns": ("rate_limit_returns_token", "rate_limit_returns_address"),
    "storefront": ("rate_limit_storefront_key", "rate_limit_storefront_address"),
    "curbside": ("rate_limit_curbside_order", "rate_limit_curbside_address"),
}
_WHAT: dict[Group, str] = {
    "signin": "Too many sign-in attempts from this address: please try again in {wait}.",
    "signin_failures": "Too many failed sign-ins: please try again in {wait}.",
    "giftcards": "Too many gift card look-ups: please try again in {wait}.",
    "returns": "Too many sale look-ups: please try again in {wait}.",
    "storefront": "Too many storefront requests: please try again in {wait}.",
    "curbside": "Too many wrong pickup codes: please come into the store with your order "
    "number, or try again in {wait}.",
}

RATE_LIMITED: dict[int | str, dict[str, Any]] = {
    429: {
        "model": ErrorBody,
        "description": "Rate limited (`rate_limited`): wait the Retry-After seconds",
        "headers": {
            "Retry-After": {
                "description": "seconds until the next attempt is allowed",
                "schema": {"type": "integer"},
            }
        },
    }
}


def human_wait(seconds: int) -> str:
    """'45 seconds', '1 minute', '15 minutes': how long a Retry-After is, for a person."""
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minutes"


def _secret_key(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class RateLimits:
    """Every group's limits over one in-memory moving window; thread-safe (sync routes run in the
    thread pool)."""

    def __init__(self, settings: Settings) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._limits: dict[Group, tuple[list[RateLimitItem], list[RateLimitItem]]] = {
            group: (
                parse_many(getattr(settings, caller)) if caller else [],
                parse_many(getattr(settings, address)),
            )
            for group, (caller, address) in _SETTINGS.items()
        }

    def _keys(
        self, group: Group, caller: str | None, address: str
    ) -> list[tuple[RateLimitItem, str, str, str]]:
        per_caller, per_address = self._limits[group]
        keys: list[tuple[RateLimitItem, str, str, str]] = []
        if caller is not None:
            keys += [(item, group, "caller", caller) for item in per_caller]
        return keys + [(item, group, "address", address) for item in per_address]

    def _refusal(self, group: Group, item: RateLimitItem, *ids: str) -> ApiError:
        reset = self._limiter.get_window_stats(item, *ids).reset_time
        wait = max(1, math.ceil(reset - time.time()))
        return ApiError(
            429,
            "rate_limited",
            _WHAT[group].format(wait=human_wait(wait)),
            {"Retry-After": str(wait)},
        )

    def take(self, group: Group, *, caller: str | None, address: str) -> None:
        """Count one request; 429 when the caller's or the address's limit is spent."""
        for item, *ids in self._keys(group, caller, address):
            if not self._limiter.hit(item, *ids):
                raise self._refusal(group, item, *ids)

    def check(self, group: Group, *, caller: str | None, address: str) -> None:
        """429 when a limit is spent already; counts nothing (the failure is counted after)."""
        for item, *ids in self._keys(group, caller, address):
            if not self._limiter.test(item, *ids):
                raise self._refusal(group, item, *ids)

    def count(self, group: Group, *, caller: str | None, address: str) -> None:
        """Count one event (a failure) against the caller and the address, refusing nothing."""
        for item, *ids in self._keys(group, caller, address):
            self._limiter.hit(item, *ids)

    def forget(self, group: Group, caller: str) -> None:
        """Drop a caller's count (a manager unlocked the account it stands for)."""
        for item in self._limits[group][0]:
            self._limiter.clear(item, group, "caller", caller)


_CREATING = threading.Lock()


def limits_of(app: FastAPI) -> RateLimits:
    """The app's limiter, made from its settings on first use."""
    found: RateLimits | None = getattr(app.state, "rate_limits", None)
    if found is None:
        with _CREATING:
            found = getattr(app.state, "rate_limits", None)
            if found is None:
                found = app.state.rate_limits = RateLimits(app.state.settings)
    return found


def address_of(request: Request) -> str:
    """The client's address as the server sees it (behind the TLS proxy: uvicorn's proxy headers,
    trusted only from FORWARDED_ALLOW_IPS)."""
    return request.client.host if request.client else "unknown"


def _bearer(request: Request) -> str | None:
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    return _secret_key(token.strip()) if scheme.lower() == "bearer" and token.strip() else None


def _nobody(_: Request) -> str | None:
    return None


def _storefront_key(request: Request) -> str | None:
    key = (request.headers.get("x-storefront-key") or "").strip()
    return _secret_key(key) if key else None


class Limit:
    """A FastAPI dependency: count each request of a route group per caller and per address."""

    def __init__(self, group: Group, caller: Callable[[Request], str | None]) -> None:
        self.group, self._caller = group, caller

    async def __call__(self, request: Request) -> None:
        limits_of(request.app).take(
            self.group, caller=self._caller(request), address=address_of(request)
        )


SIGN_IN = Depends(Limit("signin", _nobody))  # per address; failures are counted by the routes
GIFT_CARDS = Depends(Limit("giftcards", _bearer))
RETURNS = Depends(Limit("returns", _bearer))
STOREFRONT = Depends(Limit("storefront", _storefront_key))
