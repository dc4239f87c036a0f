"""Customer messages (issue 18): the drain that sends the notification outbox by e-mail and SMS,
a staff retry, and the e-mail receipt of a till sale queued through the same outbox.

One message at a time: claim it ("sending", one transaction), render it in its store's language,
hand it to the sender, record the answer (another transaction). So a drain that dies holds at most
one message, which the next drain marks failed after its lease instead of sending it twice.
Database steps run in a thread (the senders are asyncio clients).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from temporalio import activity

from activities.receipts import receipt_of
from contracts.errors import encode_errors
from contracts.messages import (
    DELIVER_ACTIVITY,
    DRAIN_ACTIVITY,
    QUEUE_RECEIPT_ACTIVITY,
    REQUEUE_ACTIVITY,
    DeliverCmd,
    Delivered,
    DrainRequest,
    DrainResult,
    MessageConfig,
    ReceiptEmailRequest,
    ReceiptQueued,
    RequeueCmd,
    SendOutcome,
)
from db.models import Location
from db.repositories import bookkeeping, messages, orders, outbox, store_hours
from db.repositories.messages import Claimed
from db.session import Database
from domain import messages as text
from domain.errors import Conflict, NotFound
from integrations.email_smtp import EmailSender
from integrations.sms import SmsSender


def _now() -> datetime:
    return datetime.now(UTC)


def _beat(detail: str) -> None:
    if activity.in_activity():
        activity.heartbeat(detail)


@encode_errors
class MessageActivities:
    """Sends the outbox through its e-mail and SMS senders, once per message."""

    def __init__(
        self,
        db: Database,
        email: EmailSender,
        sms: SmsSender | None,
        config: MessageConfig,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.db = db
        self.email = email
        self.sms = sms
        self.config = config
        self.clock = clock

    # ---- database steps (in a thread) --------------------------------------------------------

    def _housekeeping(self, now: datetime) -> tuple[int, int]:
        c = self.config
        with self.db.unit_of_work() as s:
            lease, age = timedelta(seconds=c.claim_lease_s), timedelta(hours=c.max_age_hours)
            interrupted = messages.recover_interrupted(s, now, lease, c.stores)
            expired = messages.expire_stale(s, now, age, c.stores)
        return interrupted, expired

    def _claim_next(self, now: datetime) -> Claimed | None:
        with self.db.unit_of_work() as s:
            found = messages.claim_due(s, now, 1, self.config.stores)
        return found[0] if found else None

    def _claim(self, message_id: int, now: datetime) -> Claimed | None:
        with self.db.unit_of_work() as s:
            return messages.claim_one(s, message_id, now)

    def _render(self, m: Claimed) -> text.Rendered:
        """The message in its store's language, from the facts the workflow recorded."""
        with self.db.unit_of_work() as s:
            store = messages.store_facts(s, m.store_code)
            name = str(m.data.get("customer_name") or "") or messages.customer_name(s, m.reference)
            hours = store_hours.hours(s, store.id).describe() if store else ""
        language = text.language_for(store.country if store else None)
        facts: dict[str, str] = {
            k: str(v) for k, v in m.data.items() if isinstance(v, str | int) and k != "deadline"
        }
        facts.update(name=name, order=str(m.data.get("order") or ""), hours=hours)
        if store is not None:
            facts.update(store=store.name, address=store.address)
        deadline = m.data.get("deadline")
        if isinstance(deadline, str) and deadline:
            try:
                at = datetime.fromisoformat(deadline)
            except ValueError:
                facts["deadline"] = deadline
            else:
                zone = store.timezone if store else "UTC"
                facts["deadline"] = text.local_time(at, zone, language)
        if m.kind == "receipt":
            facts["receipt"] = m.body
        return text.render(
            m.kind, language, facts, fallback_subject=m.subject, fallback_body=m.body
        )

    def _record(self, m: Claimed, result: SendOutcome, tried_at: datetime) -> str:
        """The attempt's outcome; the next one waits its backoff from when this one began."""
        c = self.config
        now = self.clock()
        with self.db.unit_of_work() as s:
            if result.outcome == "sent":
                messages.mark_sent(s, m.id, now, result.provider_id)
                return "sent"
            if result.outcome == "retry":
                if m.attempts >= c.max_attempts:
                    messages.mark_given_up(
                        s, m.id, "failed", f"gave up after {m.attempts} attempts: {result.error}"
                    )
                    return "failed"
                wait = text.backoff(m.attempts, base_s=c.backoff_base_s, cap_s=c.backoff_cap_s)
                messages.mark_retry(s, m.id, tried_at + wait, result.error)
                return "retrying"
            messages.mark_given_up(s, m.id, result.outcome, result.error, result.provider_id)
            return result.outcome

    def _state(self, message_id: int) -> Delivered:
        with self.db.unit_of_work() as s:
            row = messages.message(s, message_id)
        if row is None:
            raise NotFound(f"There is no message {message_id}.", code="no_message")
        return Delivered(
            message_id=row.id,
            status=row.status,  # type: ignore[arg-type]  # the CHECK constraint holds it
            attempts=row.attempts,
            last_error=row.last_error or "",
        )

    # ---- sending -----------------------------------------------------------------------------

    async def _send(self, m: Claimed, tried_at: datetime) -> str:
        try:
            rendered = await asyncio.to_thread(self._render, m)
            if m.channel == "sms":
                if self.sms is None:
                    result = SendOutcome(
                        outcome="failed", error="no SMS provider is configured (TILLFLOW_SMS_*)"
                    )
                else:
                    result = await self.sms.send(key=m.key, to=m.recipient, text=rendered.sms)
            else:
                result = await self.email.send(
                    key=m.key,
                    to=m.recipient,
                    subject=rendered.subject,
                    text=rendered.text,
                    language=rendered.language,
                )
        except Exception as err:  # a bug or outage before the hand-over: nothing went out
            result = SendOutcome(outcome="retry", error=f"{type(err).__name__}: {err}"[:1000])
        return await asyncio.to_thread(self._record, m, result, tried_at)

    @activity.defn(name=DRAIN_ACTIVITY)
    async def drain(self, req: DrainRequest) -> DrainResult:
        """Send every due message (up to the batch size), oldest first, each at most once."""
        now = self.clock()
        interrupted, expired = await asyncio.to_thread(self._housekeeping, now)
        counts = {"sent": 0, "retrying": 0, "failed": 0, "bounced": 0}
        for _ in range(req.limit or self.config.batch_size):
            at = self.clock()
            m = await asyncio.to_thread(self._claim_next, at)
            if m is None:
                break
            counts[await self._send(m, at)] += 1
            _beat(f"message {m.id}")
        return DrainResult(interrupted=interrupted, expired=expired, **counts)

    @activity.defn(name=DELIVER_ACTIVITY)
    async def deliver(self, cmd: DeliverCmd) -> Delivered:
        """Send this one message now if it is due (a drain may have sent it already: then not)."""
        at = self.clock()
        m = await asyncio.to_thread(self._claim, cmd.message_id, at)
        if m is not None:
            await self._send(m, at)
        return await asyncio.to_thread(self._state, cmd.message_id)

    # ---- staff and till ----------------------------------------------------------------------

    @activity.defn(name=REQUEUE_ACTIVITY)
    def requeue(self, cmd: RequeueCmd) -> Delivered:
        """A failed or bounced message back to pending (audited); a pending or sent one as is."""
        with self.db.unit_of_work() as s:
            row = messages.message(s, cmd.message_id)
            if row is None:
                raise NotFound(f"There is no message {cmd.message_id}.", code="no_message")
            if row.status == "skipped":
                raise Conflict(
                    "Store notices show on the fulfilment board; they are not sent.",
                    code="message_not_sendable",
                )
            if messages.requeue(s, cmd.message_id, self.clock()):
                bookkeeping.audit(
                    s,
                    action="message.retried",
                    subject=f"message:{row.id}",
                    actor_user_id=cmd.actor_user_id,
                    detail={
                        "store": row.store_code,
                        "kind": row.kind,
                        "was": row.status,
                        "last_error": row.last_error,
                    },
                )
        return self._state(cmd.message_id)

    @activity.defn(name=QUEUE_RECEIPT_ACTIVITY)
    def queue_receipt(self, req: ReceiptEmailRequest) -> ReceiptQueued:
        """The recorded sale's receipt, in its store's language, into the outbox once per key."""
        key = f"{req.sale_workflow_id}:receipt:{req.key}"
        with self.db.unit_of_work() as s:
            order = orders.order_by_workflow(s, req.sale_workflow_id)
            if order is None:
                raise NotFound("That sale is not recorded (yet).", code="no_sale")
            location = s.get(Location, order.location_id) if order.location_id else None
            language = text.language_for(location.country if location else None)
            # A copy sent by e-mail: gift card codes masked as on a reprint.
            receipt = receipt_of(s, order, reprint=True)
            body = text.receipt_body(
                text.ReceiptText(
                    number=receipt.sale_id,
                    store_name=receipt.store_name,
                    store_address=receipt.store_address,
                    sold_at_local=receipt.sold_at.strftime("%Y-%m-%d %H:%M"),
                    currency=receipt.currency,
                    lines=[
                        text.ReceiptLineText(
                            name=ln.name, quantity=ln.quantity, line_total=ln.line_total
                        )
                        for ln in receipt.lines
                    ],
                    subtotal=receipt.subtotal,
                    tax_total=receipt.tax_total,
                    total=receipt.total,
                    tenders=[
                        text.ReceiptTenderText(kind=t.kind, amount=t.amount, detail=t.detail)
                        for t in receipt.tenders
                    ],
                    change_due=receipt.change_due,
                    notes=receipt.notes,
                ),
                language,
            )
            fresh = outbox.add(
                s,
                key=key,
                kind="receipt",
                channel="email",
                recipient=req.email,
                subject=f"Your receipt {order.number}",
                body=body,
                reference=req.sale_workflow_id,
                data={"order": order.number, "store": location.code if location else ""},
            )
            message_id = messages.id_by_key(s, key)
            if fresh:
                bookkeeping.audit(
                    s,
                    action="receipt.emailed",
                    subject=f"order:{order.number}",
                    actor_user_id=req.actor_user_id,
                    workflow_id=req.sale_workflow_id,
                    detail={"store": location.code if location else None, "message": message_id},
                )
        assert message_id is not None
        return ReceiptQueued(message_id=message_id, fresh=fresh)


def message_activities(
    db: Database,
    email: EmailSender,
    sms: SmsSender | None,
    config: MessageConfig,
    clock: Callable[[], datetime] = _now,
) -> list[Callable[..., object]]:
    """The activity callables to register on the messages worker."""
    a = MessageActivities(db, email, sms, config, clock)
    return [a.drain, a.deliver, a.requeue, a.queue_receipt]
