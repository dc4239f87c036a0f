"""Request body size limits per route group, enforced before a body is held in memory.

A declared `Content-Length` over the limit is refused without reading a byte; a body without one
(chunked) is counted while it streams in and refused as soon as it passes the limit, so no request
ever makes the API hold more than its group's limit. The webhooks read their raw body (the
signatures are over it) through the same mechanism: `api/input_guard.py` buffers it once, within
the limit, and hands it on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from starlette.types import Receive

from tillflow.settings import Settings

Group = Literal["webhooks", "storefront", "journal", "default"]
_JOURNAL = re.compile(r"^/tills/[^/]+/journal/?$")


class BodyTooLarge(Exception):
    """The body is (or declares itself) larger than its route group allows."""

    def __init__(self, group: Group, limit: int) -> None:
        super().__init__(f"{group}: over {limit} bytes")
        self.group, self.limit = group, limit


class BadContentLength(Exception):
    """The Content-Length header is not one non-negative whole number."""


class ClientGone(Exception):
    """The client disconnected before its body was complete: there is no one to answer."""


@dataclass(frozen=True, kw_only=True)
class BodyLimits:
    """The largest body, in bytes, of each route group."""

    webhooks: int
    storefront: int
    journal: int
    default: int

    @classmethod
    def from_settings(cls, settings: Settings) -> BodyLimits:
        return cls(
            webhooks=settings.body_limit_webhooks_bytes,
            storefront=settings.body_limit_storefront_bytes,
            journal=settings.body_limit_journal_bytes,
            default=settings.body_limit_default_bytes,
        )

    def group(self, path: str) -> Group:
        if path.startswith("/webhooks/"):
            return "webhooks"
        if path.startswith("/storefront/"):
            return "storefront"
        if _JOURNAL.match(path):
            return "journal"
        return "default"

    def limit(self, group: Group) -> int:
        return int(getattr(self, group))


def declared_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    """The Content-Length, if the request declares one (BadContentLength when it is garbage)."""
    values = [v for k, v in headers if k == b"content-length"]
    if not values:
        return None
    # Two headers are only acceptable when they agree (RFC 9110 §8.6); anything else is smuggling.
    text = {v.strip() for v in values}
    if len(text) != 1:
        raise BadContentLength("several different Content-Length headers")
    value = text.pop()
    if not value.isdigit() or len(value) > 18:
        raise BadContentLength("Content-Length is not a whole number of bytes")
    return int(value)


async def read_body(receive: Receive, group: Group, limit: int) -> bytes:
    """The whole body, counted chunk by chunk: BodyTooLarge as soon as it passes the limit."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(group, limit)
        if chunk:
            chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
