"""The Notifier Protocol: messages to customers (ready for pickup, reminders, shipped) and to
stores.

Local default: `OutboxNotifier` writes each message once to the `notification_outbox` table and logs
it; a mail or SMS relay reading the outbox (or a real adapter beside this one) can follow.
"""

from __future__ import annotations

import logging
from typing import Protocol

from contracts.notices import Notice
from db.repositories import outbox
from db.session import Database

log = logging.getLogger("tillflow.notices")


class Notifier(Protocol):
    def send(self, notice: Notice) -> bool:
        """Deliver (or queue) the message; False when this key was sent before."""
        ...


class OutboxNotifier:
    """Writes messages to the outbox table, once per key, and to the log."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def send(self, notice: Notice) -> bool:
        with self.db.unit_of_work() as s:
            fresh = outbox.add(
                s,
                key=notice.key,
                kind=notice.kind,
                channel=notice.channel,
                recipient=notice.recipient,
                subject=notice.subject,
                body=notice.body,
                reference=notice.reference,
                data=notice.data,
            )
        if fresh:
            # No body in the log: it may carry a pickup code.
            log.info(
                "notice queued",
                extra={
                    "kind": notice.kind,
                    "channel": notice.channel,
                    "reference": notice.reference,
                    "subject": notice.subject,
                },
            )
        return fresh
