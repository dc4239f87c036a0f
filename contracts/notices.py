"""Customer and store messages handed to the notification outbox."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, kw_only=True)
class Notice:
    key: str  # idempotency: one message per key, whatever the retries
    # kind: ready_for_pickup | pickup_reminder | pickup_extended | pickup_expired | picked_up |
    # shipped | …
    kind: str
    recipient: str  # an email address, or a store code for channel "store"
    subject: str
    body: str
    reference: str  # the workflow the message belongs to
    channel: str = "email"  # email | store
    data: dict[str, Any] = field(default_factory=dict)
