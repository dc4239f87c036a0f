"""Steps of an offline till's replay: keep the uploaded entries, capture stored cards, record each
outcome."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.sale import offline_quote
from contracts.errors import encode_errors
from contracts.replay import (
    CAPTURE_UNAVAILABLE,
    AttemptCheck,
    AttemptFound,
    CardCapture,
    CardCaptured,
    JournalEntry,
    OutcomeRecord,
    ReceivedBatch,
    ReceivedEntry,
    ReplayEntryResult,
    ReplayRequest,
    replacement_workflow_id,
    sale_attempt,
)
from contracts.sale import GIFT_CARD_SKU, sale_workflow_id
from db.models import Order
from db.pricing import BasketItem
from db.repositories import catalog, orders, tills, users
from db.repositories.catalog import TillView
from db.session import Database
from domain.errors import DomainError, InvalidRequest, NotFound
from domain.money import format_minor
from domain.offline import (
    CARD,
    CASH,
    OfflineCardPolicy,
    OfflineTender,
    check_offline_card,
    offline_window_problems,
    settle_offline,
    snapshot_window_start,
)
from domain.pricing import prices_during
from integrations.offline_cards import (
    CaptureUnavailable,
    OfflineCardCapturer,
    StoredCardPayment,
    find_stored_intent,
    intent_mismatch,
)
from integrations.payments import Intent, PaymentGateway
from integrations.stripe_offline import StripeOfflineCapturer

TILL_ROLES = ("cashier", "manager")  # who may ring up a sale (as the API's till sign-in)


def offline_card_key(sale_workflow_id: str, number: int) -> str:
    return f"{sale_workflow_id}:offline-card:{number}"


def _applied_order(s: Session, workflow_id: str) -> tuple[Order, str] | None:
    """The completed sale of an entry and the id it was applied under: its own, or the new id it
    got because an earlier attempt under its own ended without a sale."""
    for wf_id in (workflow_id, replacement_workflow_id(workflow_id)):
        order = orders.order_by_workflow(s, wf_id)
        if order is not None and order.status == "completed":
            return order, wf_id
    return None


def _payload(entry: JournalEntry) -> dict[str, object]:
    body = asdict(entry)
    body["sold_at"] = entry.sold_at.isoformat()
    return body


def _json(body: dict[str, object]) -> object:
    """As it reads back from a JSONB column (tuples become lists)."""
    return json.loads(json.dumps(body))


@encode_errors
class ReplayActivities:
    """Database steps of OfflineReplay, and the capture of cards the till stored offline.

    `gateway` looks up the provider's payment behind a stored card before it is captured; by
    default the Stripe capturer's own."""

    def __init__(
        self,
        db: Database,
        capturer: OfflineCardCapturer | None = None,
        gateway: PaymentGateway | None = None,
    ) -> None:
        self.db = db
        self.capturer = capturer
        if gateway is None and isinstance(capturer, StripeOfflineCapturer):
            gateway = capturer.gateway
        self.gateway = gateway

    @activity.defn(name="replay.receive")
    def receive(self, req: ReplayRequest) -> ReceivedBatch:
        """Keep every uploaded entry once (per till and client sale id), check each new one
        against the server's own records (its time, its cashier, its prices and tenders, the card
        limits): one that fails is flagged for a manager, never applied. Say which are applied
        already."""
        now = datetime.now(UTC)
        skew, max_age = timedelta(seconds=req.clock_skew_s), timedelta(seconds=req.max_age_s)
        with self.db.unit_of_work() as s:
            till = catalog.till_view(s, req.till_code)
            if till is None:
                raise NotFound(f"There is no till {req.till_code}.")
            window = tills.till_window(s, till.till_id)
            cashiers = {
                e.client_sale_id: self._cashier(s, e, till, now, max_age) for e in req.entries
            }
            new = tills.receive_entries(
                s,
                till.till_id,
                req.batch_id,
                [
                    tills.NewJournalEntry(
                        client_sale_id=e.client_sale_id,
                        workflow_id=sale_workflow_id(req.till_code, e.client_sale_id),
                        cashier_id=cashiers[e.client_sale_id][0],
                        sold_at=e.sold_at,
                        payload=_payload(e),
                    )
                    for e in req.entries
                ],
            )
            stored = {
                r.client_sale_id: r
                for r in tills.entries_for(s, till.till_id, [e.client_sale_id for e in req.entries])
            }
            policy = tills.offline_card_policy(s, till.location_id)
            out = []
            for e in req.entries:
                wf_id = sale_workflow_id(req.till_code, e.client_sale_id)
                applied = _applied_order(s, wf_id)
                row = stored[e.client_sale_id]
                flagged = ""
                if applied is None:
                    if e.client_sale_id in new:
                        problems = offline_window_problems(
                            e.sold_at,
                            now=now,
                            offline_from=window.offline_from,
                            skew=skew,
                            max_age=max_age,
                        )
                        problems += [p for p in (cashiers[e.client_sale_id][1],) if p]
                        problems += self._money_problems(s, till, window, policy, e)
                        flagged = " ".join(problems)
                    elif row.status == "flagged":
                        flagged = row.message or "Flagged for a manager."
                    elif row.payload != _json(_payload(e)):
                        flagged = (
                            "Uploaded again with other lines, tenders or times than the first "
                            "time; a till never changes a sale it journaled."
                        )
                    elif row.cashier_id is None:
                        flagged = "Nobody the central system knows rang it up at this till."
                    if flagged and row.status != "flagged":
                        tills.mark_entry(
                            s, wf_id, status="flagged", order_number=None, message=flagged
                        )
                out.append(
                    ReceivedEntry(
                        client_sale_id=e.client_sale_id,
                        workflow_id=wf_id,
                        cashier_id=row.cashier_id or 0,
                        order_number=applied[0].number if applied else "",
                        flagged=flagged,
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
    def _cashier(
        s: Session, e: JournalEntry, till: TillView, now: datetime, max_age: timedelta
    ) -> tuple[int | None, str]:
        """Who rang the entry up, if the central system can vouch for them: a cashier or manager
        of the store who signed in at this very till within the offline window (never the name on
        its word, never the uploader). Else None and why."""
        user = users.user_by_username(s, e.cashier)
        if (
            user is None
            or user.role not in TILL_ROLES
            or till.location_id not in users.user_location_ids(s, user.id)
        ):
            return None, (
                f"The cashier '{e.cashier}' is no cashier or manager of store {till.location_code}."
            )
        if not tills.signed_in_at_till(s, user.id, till.till_id, e.sold_at - max_age, now):
            return None, (
                f"The cashier '{e.cashier}' did not sign in at till {till.till_code} within "
                f"{int(max_age.total_seconds() // 3600)} h of the sale."
            )
        return user.id, ""

    @staticmethod
    def _money_problems(
        s: Session,
        till: TillView,
        window: tills.TillWindow,
        policy: OfflineCardPolicy,
        e: JournalEntry,
    ) -> list[str]:
        """The entry priced by the catalogue and tax rates valid when it was sold: a price the
        till's offline catalogue cannot explain, tenders that do not settle that total, or card
        payments over the store's offline limits."""
        if any(ln.sku == GIFT_CARD_SKU for ln in e.lines):
            return ["Gift cards are never sold offline."]
        try:
            # As the till priced it offline: with the store's promotions of the time.
            quote = offline_quote(
                s, till, [BasketItem(ln.sku, ln.quantity) for ln in e.lines], e.sold_at
            )
        except DomainError as err:
            return [err.message]
        problems = []
        since = snapshot_window_start(e.sold_at, window.snapshot_at, window.offline_from)
        for ln, priced in zip(e.lines, quote.lines, strict=True):
            if ln.unit_price == priced.unit_price:
                continue
            spans = catalog.price_spans(s, till.location_id, ln.sku, since, e.sold_at)
            if ln.unit_price not in prices_during(spans, since, e.sold_at, till.currency):
                problems.append(
                    f"Line {priced.line_no} ({ln.sku}): the till charged "
                    f"{format_minor(ln.unit_price, till.currency)}, the catalogue said "
                    f"{format_minor(priced.unit_price, till.currency)} at the time, and no "
                    "catalogue the till downloaded since its last one before the sale ever had "
                    "that price."
                )
        given = [
            OfflineTender(t.kind, (t.tendered or t.amount) if t.kind == CASH else t.amount)
            for t in e.tenders
        ]
        try:
            settle_offline(quote.total, given, till.currency)
        except DomainError as err:
            problems.append(
                "Priced by the catalogue at the time it comes to "
                f"{format_minor(quote.total, till.currency)}: {err.message}"
            )
        on_cards = sum(t.amount for t in e.tenders if t.kind == CARD)
        if on_cards:
            held = tills.cards_held_at(s, till.till_id, e.sold_at, e.client_sale_id)
            try:
                check_offline_card(on_cards, policy, held, e.sold_at, till.currency)
            except DomainError as err:
                problems.append(f"Over the store's offline card limits: {err.message}")
        return problems

    @activity.defn(name="replay.capture_card")
    def capture_card(self, cmd: CardCapture) -> CardCaptured:
        """Capture a card payment the till stored offline once the provider's payment proves to be
        this sale's (amount, currency, till and sale, never used by another payment); a mismatch
        is refused (the entry is flagged), a decline opens a "collect from customer" task."""
        if self.capturer is None:
            raise ApplicationError(
                "Card payments taken offline cannot be captured: no card capturer is configured.",
                type=CAPTURE_UNAVAILABLE,
                non_retryable=True,
            )
        key = offline_card_key(cmd.sale_workflow_id, cmd.number)
        payment = StoredCardPayment(
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
        intent = self._checked_intent(cmd, payment)
        if cmd.verify_only:
            return CardCaptured(
                approved=intent is not None, provider_ref=intent.id if intent else ""
            )
        try:
            outcome = self.capturer.capture(payment)
        except CaptureUnavailable as err:
            # Temporary: the activity's retry policy tries again.
            raise ApplicationError(
                f"card capture unavailable: {err}", type="CaptureUnavailable"
            ) from err
        if outcome.approved:
            if intent is None or outcome.provider_ref != intent.id:
                raise InvalidRequest(
                    f"The card payment {cmd.reference} could not be checked with the payment "
                    "provider, so it is not accepted for this sale."
                )
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

    def _checked_intent(self, cmd: CardCapture, payment: StoredCardPayment) -> Intent | None:
        """The provider's payment behind the terminal's reference once it proves to be this
        sale's; None when the reference names none (the capture then declines it)."""
        if self.gateway is None:
            return None
        intent = find_stored_intent(self.gateway, cmd.reference)
        if intent is None:
            return None
        problem = intent_mismatch(intent, payment)
        if problem:
            raise InvalidRequest(problem)
        own = (cmd.sale_workflow_id, replacement_workflow_id(cmd.sale_workflow_id))
        with self.db.unit_of_work() as s:
            other = tills.card_payment_elsewhere(s, intent.id, own)
        if other:
            raise InvalidRequest(
                f"The card payment {intent.id} already paid for {other}; it pays for one sale only."
            )
        return intent

    @activity.defn(name="replay.online_attempt")
    async def online_attempt(self, cmd: AttemptCheck) -> AttemptFound:
        """What became of an earlier run under a sale id the entry may be applied under (the till's
        online attempt, or an earlier upload's): none, still running, completed, or ended without a
        sale. An online attempt left open for more tenders is abandoned: the till sold it
        offline."""
        if await asyncio.to_thread(self._completed, cmd.workflow_id):
            return AttemptFound(state="completed")
        found = await sale_attempt(activity.client(), cmd.workflow_id)
        if found.state == "ended" and await asyncio.to_thread(self._completed, cmd.workflow_id):
            return AttemptFound(state="completed")  # it recorded its sale just before it ended
        return found

    def _completed(self, workflow_id: str) -> bool:
        with self.db.unit_of_work() as s:
            order = orders.order_by_workflow(s, workflow_id)
            return order is not None and order.status == "completed"

    @activity.defn(name="replay.record_outcome")
    def record_outcome(self, cmd: OutcomeRecord) -> ReplayEntryResult:
        """Mark the entry applied (flagging lines that went short) or flagged; pending if neither
        yet."""
        with self.db.unit_of_work() as s:
            applied = _applied_order(s, cmd.workflow_id)
            if applied is not None:
                order, applied_as = applied
                short = tills.sale_shortfalls(s, applied_as, cmd.location_id)
                for line in short:
                    tills.add_variance(
                        s,
                        tills.NewVariance(
                            location_id=cmd.location_id,
                            sku=line.sku,
                            till_id=cmd.till_id,
                            workflow_id=applied_as,
                            order_number=order.number,
                            line_no=line.line_no,
                            quantity_sold=line.quantity,
                            on_hand_before=line.on_hand_before,
                            sold_at=cmd.sold_at,
                        ),
                    )
                notes = [f"{len(short)} line(s) flagged for a stock count"] if short else []
                if applied_as != cmd.workflow_id:
                    notes.insert(
                        0,
                        f"Applied as {applied_as}: the first attempt under {cmd.workflow_id} "
                        "ended without a sale.",
                    )
                message = " ".join(notes)
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
