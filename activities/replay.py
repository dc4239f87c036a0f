"""Steps of an offline till's replay: keep the uploaded entries, capture stored cards, record each
outcome."""

from __future__ import annotations

from dataclasses import asdict

from temporalio import activity
from temporalio.exceptions import ApplicationError

from contracts.errors import encode_errors
from contracts.replay import (
    CAPTURE_UNAVAILABLE,
    CardCapture,
    CardCaptured,
    JournalEntry,
    OutcomeRecord,
    ReceivedBatch,
    ReceivedEntry,
    ReplayEntryResult,
    ReplayRequest,
)
from contracts.sale import sale_workflow_id
from db.repositories import catalog, orders, tills, users
from db.session import Database
from domain.errors import NotFound
from integrations.offline_cards import CaptureUnavailable, OfflineCardCapturer, StoredCardPayment

TILL_ROLES = ("cashier", "manager")  # who may ring up a sale (as the API's till sign-in)


def offline_card_key(sale_workflow_id: str, number: int) -> str:
    return f"{sale_workflow_id}:offline-card:{number}"


def _payload(entry: JournalEntry) -> dict[str, object]:
    body = asdict(entry)
    body["sold_at"] = entry.sold_at.isoformat()
    return body


@encode_errors
class ReplayActivities:
    """Database steps of OfflineReplay, and the capture of cards the till stored offline."""

    def __init__(self, db: Database, capturer: OfflineCardCapturer | None = None) -> None:
        self.db = db
        self.capturer = capturer

    @activity.defn(name="replay.receive")
    def receive(self, req: ReplayRequest) -> ReceivedBatch:
        """Keep every uploaded entry once (per till and client sale id) and say which are applied
        already."""
        with self.db.unit_of_work() as s:
            till = catalog.till_view(s, req.till_code)
            if till is None:
                raise NotFound(f"There is no till {req.till_code}.")
            cashiers = {
                name: self._cashier(s, name, till.location_id)
                for name in {e.cashier for e in req.entries}
            }
            tills.receive_entries(
                s,
                till.till_id,
                req.batch_id,
                [
                    tills.NewJournalEntry(
                        client_sale_id=e.client_sale_id,
                        workflow_id=sale_workflow_id(req.till_code, e.client_sale_id),
                        cashier_id=cashiers[e.cashier] or req.uploaded_by,
                        sold_at=e.sold_at,
                        payload=_payload(e),
                    )
                    for e in req.entries
                ],
            )
            out = []
            for e in req.entries:
                wf_id = sale_workflow_id(req.till_code, e.client_sale_id)
                order = orders.order_by_workflow(s, wf_id)
                done = order is not None and order.status == "completed"
                out.append(
                    ReceivedEntry(
                        client_sale_id=e.client_sale_id,
                        workflow_id=wf_id,
                        cashier_id=cashiers[e.cashier] or req.uploaded_by,
                        order_number=order.number if done and order else "",
                    )
                )
            return ReceivedBatch(
                till_id=till.till_id,
                location_id=till.location_id,
                location_code=till.location_code,
                currency=till.currency,
                entries=tuple(out),
            )

    @staticmethod
    def _cashier(s, username: str, location_id: int) -> int | None:  # type: ignore[no-untyped-def]
        user = users.user_by_username(s, username)
        if user is None or user.role not in TILL_ROLES:
            return None
        return user.id if location_id in users.user_location_ids(s, user.id) else None

    @activity.defn(name="replay.capture_card")
    def capture_card(self, cmd: CardCapture) -> CardCaptured:
        """Capture a card payment the till stored offline; a decline opens a "collect from customer"
        task."""
        if self.capturer is None:
            raise ApplicationError(
                "Card payments taken offline cannot be captured: no card capturer is configured.",
                type=CAPTURE_UNAVAILABLE,
                non_retryable=True,
            )
        key = offline_card_key(cmd.sale_workflow_id, cmd.number)
        try:
            outcome = self.capturer.capture(
                StoredCardPayment(
                    key=key,
                    reference=cmd.reference,
                    amount=cmd.amount,
                    currency=cmd.currency,
                    brand=cmd.brand,
                    last4=cmd.last4,
                    till_code=cmd.till_code,
                    client_sale_id=cmd.client_sale_id,
                    taken_at=cmd.sold_at,
                )
            )
        except CaptureUnavailable as err:
            # Temporary: the activity's retry policy tries again.
            raise ApplicationError(
                f"card capture unavailable: {err}", type="CaptureUnavailable"
            ) from err
        if outcome.approved:
            return CardCaptured(approved=True, provider_ref=outcome.provider_ref)
        with self.db.unit_of_work() as s:
            task = tills.add_collection_task(
                s,
                tills.NewCollectionTask(
                    idempotency_key=f"{key}:collect",
                    location_id=cmd.location_id,
                    till_id=cmd.till_id,
                    workflow_id=cmd.sale_workflow_id,
                    client_sale_id=cmd.client_sale_id,
                    amount=cmd.amount,
                    currency=cmd.currency,
                    card_brand=cmd.brand,
                    card_last4=cmd.last4,
                    card_reference=cmd.reference,
                    decline_reason=outcome.decline_reason or "declined",
                    receipt={
                        "client_sale_id": cmd.client_sale_id,
                        "till": cmd.till_code,
                        "sold_at": cmd.sold_at.isoformat(),
                        "total": cmd.total,
                        "currency": cmd.currency,
                        "card": f"{cmd.brand} ****{cmd.last4}".strip(),
                        "lines": [asdict(ln) for ln in cmd.lines],
                    },
                    sold_at=cmd.sold_at,
                ),
            )
            return CardCaptured(approved=False, provider_ref="", collection_task_id=task.id)

    @activity.defn(name="replay.record_outcome")
    def record_outcome(self, cmd: OutcomeRecord) -> ReplayEntryResult:
        """Mark the entry applied (flagging lines that went short) or flagged; pending if neither
        yet."""
        with self.db.unit_of_work() as s:
            order = orders.order_by_workflow(s, cmd.workflow_id)
            if order is not None and order.status == "completed":
                short = tills.sale_shortfalls(s, cmd.workflow_id, cmd.location_id)
                for line in short:
                    tills.add_variance(
                        s,
                        tills.NewVariance(
                            location_id=cmd.location_id,
                            sku=line.sku,
                            till_id=cmd.till_id,
                            workflow_id=cmd.workflow_id,
                            order_number=order.number,
                            line_no=line.line_no,
                            quantity_sold=line.quantity,
                            on_hand_before=line.on_hand_before,
                            sold_at=cmd.sold_at,
                        ),
                    )
                message = f"{len(short)} line(s) flagged for a stock count" if short else ""
                tills.mark_entry(
                    s, cmd.workflow_id, status="applied", order_number=order.number, message=message
                )
                return ReplayEntryResult(
                    client_sale_id=cmd.client_sale_id,
                    status="applied",
                    sale_id=order.number,
                    message=message,
                    variances=len(short),
                )
            if cmd.failure:
                tills.mark_entry(
                    s, cmd.workflow_id, status="flagged", order_number=None, message=cmd.failure
                )
                return ReplayEntryResult(
                    client_sale_id=cmd.client_sale_id,
                    status="flagged",
                    sale_id="",
                    message=cmd.failure,
                )
            return ReplayEntryResult(
                client_sale_id=cmd.client_sale_id,
                status="pending",
                sale_id="",
                message="still being applied",
            )
