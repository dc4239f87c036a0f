"""Customer messages for staff (issue 18): what did not go out (failed, bounced) or is still on its
way (pending, sending), per store; a retry; and, at the till, a sale's receipt by e-mail. Sending
is the MessageDrain / MessageRetry / EmailReceipt workflows' (contracts/messages.py): this module
reads the outbox and starts them."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api import idempotency
from api.deps import ClientDep, DbDep, IdempotencyKey, PrincipalDep, SettingsDep
from api.errors import error_responses
from api.permissions import require_manager_of
from api.routes.tills import TillCode, till_for
from contracts.messages import ReceiptEmailRequest, RetryRequest, email_receipt, retry_message
from db.repositories import messages, tills
from db.repositories.messages import MessageRow
from db.repositories.users import Principal
from db.session import Database
from domain.customers import mask_email, normalize_email
from domain.errors import InvalidRequest, NotFound

router = APIRouter(tags=["customer messages"])
StoreCode = Annotated[str, Path(min_length=1, max_length=32, description="store code, e.g. BER")]
MessageId = Annotated[int, Path(ge=1, le=2**62, description="the message's id")]
SaleNumber = Annotated[
    str, Path(min_length=1, max_length=64, description="the sale's number, as on its receipt")
]
_STATUSES = ("pending", "sending", "failed", "bounced", "sent")
StatusFilter = Annotated[
    str,
    Query(
        max_length=60,
        description="comma-separated: pending, sending, failed, bounced, sent "
        "(default: failed,bounced,pending,sending)",
    ),
]


class MessageOut(BaseModel):
    id: int
    kind: str = Field(description="ready_for_pickup, pickup_reminder, shipped, receipt, …")
    channel: str = Field(description="email or sms")
    recipient: str = Field(description="masked")
    subject: str
    reference: str = Field(description="the workflow the message belongs to")
    store: str | None
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_error: str | None = Field(description="the mail server's or provider's own words")
    provider_id: str | None = Field(description="SMTP Message-ID or the SMS provider's id")
    created_at: datetime
    sent_at: datetime | None


class MessagesOut(BaseModel):
    messages: list[MessageOut]
    next_before: int | None = Field(description="`before` of the next page (older messages)")


class DeliveryOut(BaseModel):
    message_id: int
    status: str
    attempts: int
    last_error: str = ""


class ReceiptEmailIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str | None = Field(
        default=None,
        max_length=320,
        description="where to send it; omitted: the e-mail of the sale's customer",
    )


def _mask(recipient: str, channel: str) -> str:
    if channel == "email":
        return mask_email(recipient)
    return f"{recipient[:3]}***{recipient[-2:]}" if len(recipient) > 6 else "***"


def _out(m: MessageRow) -> MessageOut:
    return MessageOut(
        id=m.id,
        kind=m.kind,
        channel=m.channel,
        recipient=_mask(m.recipient, m.channel),
        subject=m.subject,
        reference=m.reference,
        store=m.store_code,
        status=m.status,
        attempts=m.attempts,
        next_attempt_at=m.next_attempt_at,
        last_attempt_at=m.last_attempt_at,
        last_error=m.last_error,
        provider_id=m.provider_id,
        created_at=m.created_at,
        sent_at=m.sent_at,
    )


def _statuses(raw: str | None) -> list[str]:
    if not raw:
        return ["failed", "bounced", "pending", "sending"]
    wanted = [s.strip() for s in raw.split(",") if s.strip()]
    unknown = sorted(set(wanted) - set(_STATUSES))
    if unknown or not wanted:
        raise InvalidRequest(
            f"Unknown status {', '.join(unknown) or raw!r}; use {', '.join(_STATUSES)}.",
            code="bad_status",
        )
    return wanted


def _managed_codes(db: Database, principal: Principal) -> list[str] | None:
    """The stores whose messages the caller sees: None for an admin (all), a manager's own."""
    if principal.role == "admin":
        return None
    require_manager_of(principal, principal.location_ids, "a store")
    with db.unit_of_work() as s:
        return messages.location_codes(s, sorted(principal.location_ids))


def _page(
    db: Database, codes: list[str] | None, statuses: list[str], before: int | None, limit: int
) -> MessagesOut:
    with db.unit_of_work() as s:
        rows = messages.for_staff(
            s, store_codes=codes, statuses=statuses, before=before, limit=limit
        )
    return MessagesOut(
        messages=[_out(m) for m in rows],
        next_before=rows[-1].id if len(rows) == limit else None,
    )


Before = Annotated[int | None, Query(ge=1, le=2**62, description="only messages older than this")]
Limit = Annotated[int, Query(ge=1, le=200)]


@router.get(
    "/messages",
    response_model=MessagesOut,
    responses=error_responses(401, 403, 422),
)
def list_messages(
    principal: PrincipalDep,
    db: DbDep,
    status: StatusFilter = "",
    before: Before = None,
    limit: Limit = 50,
) -> MessagesOut:
    """Customer messages that failed, bounced or are still on their way, newest first: an admin
    sees every store's, a manager those of their own stores. Bodies are never shown (they may
    hold a pickup code) and recipients are masked."""
    codes = _managed_codes(db, principal)
    return _page(db, codes, _statuses(status), before, limit)


@router.get(
    "/stores/{store}/messages",
    response_model=MessagesOut,
    responses=error_responses(401, 403, 404, 422),
)
def store_messages(
    store: StoreCode,
    principal: PrincipalDep,
    db: DbDep,
    status: StatusFilter = "",
    before: Before = None,
    limit: Limit = 50,
) -> MessagesOut:
    """One store's customer messages that failed, bounced or are still on their way (managers of
    the store, admins), newest first; `status` picks others (e.g. `sent`)."""
    with db.unit_of_work() as s:
        ref = tills.store_by_code(s, store)
    if ref is None:
        raise NotFound(f"There is no store {store}.")
    require_manager_of(principal, [ref.id], f"store {store}")
    return _page(db, [store], _statuses(status), before, limit)


def _message_store(db: Database, principal: Principal, message_id: int) -> None:
    with db.unit_of_work() as s:
        row = messages.message(s, message_id)
        ref = tills.store_by_code(s, row.store_code) if row and row.store_code else None
    if row is None:
        raise NotFound(f"There is no message {message_id}.", code="no_message")
    if principal.role == "admin":
        return
    # Another store's message is as unknown to its caller as a missing one.
    if ref is None or ref.id not in principal.location_ids:
        raise NotFound(f"There is no message {message_id}.", code="no_message")
    require_manager_of(principal, [ref.id], f"store {row.store_code}")


@router.post(
    "/messages/{message_id}/retry",
    response_model=DeliveryOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def retry(
    message_id: MessageId,
    principal: PrincipalDep,
    db: DbDep,
    client: ClientDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """A manager of the message's store (or an admin): send a failed or bounced message again now,
    its attempts counted afresh (audited). The answer is its status after this attempt; a message
    already sent, or on its way, is left as it is. The same Idempotency-Key retries once."""
    await run_in_threadpool(_message_store, db, principal, message_id)
    key = idempotency_key or uuid.uuid4().hex
    scope = f"message-retry:{principal.user_id}"

    async def run() -> dict[str, object]:
        done = await retry_message(
            client,
            RetryRequest(message_id=message_id, actor_user_id=principal.user_id),
            hashlib.sha256(f"{principal.user_id}:{key}".encode()).hexdigest()[:24],
            task_queue=settings.messages_task_queue,
        )
        return DeliveryOut(
            message_id=done.message_id,
            status=done.status,
            attempts=done.attempts,
            last_error=done.last_error,
        ).model_dump(mode="json")

    return await idempotency.once(db, scope, idempotency_key, {"message_id": message_id}, run)


def _sale_email(
    db: Database, till: str, principal: Principal, number: str, email: str | None
) -> tuple[str, str]:
    """The sale's workflow id and the address its receipt goes to (404 for another store's)."""
    view = till_for(db, principal, till)
    with db.unit_of_work() as s:
        sale = messages.sale_by_number(s, number)
    if sale is None or sale.location_id != view.location_id:
        raise NotFound(f"There is no sale {number} at this store.")
    address = email if email is not None else sale.customer_email
    if not address:
        raise InvalidRequest(
            "The sale has no customer with an e-mail address: give one.", code="no_email"
        )
    return sale.workflow_id, normalize_email(address)


@router.post(
    "/tills/{till}/sales/{sale_id}/email-receipt",
    response_model=DeliveryOut,
    status_code=202,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def email_sale_receipt(
    till: TillCode,
    sale_id: SaleNumber,
    body: ReceiptEmailIn,
    principal: PrincipalDep,
    db: DbDep,
    client: ClientDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Send the receipt of a recorded sale of this store to the customer's e-mail (the one given,
    else the sale's customer's), in the store's language. The text comes from the recorded order,
    never from the till. Answers 202 with the message's status (`sent`, or `pending` while the
    mail server is retried); the same Idempotency-Key (or the same address) sends it once."""
    workflow_id, address = await run_in_threadpool(
        _sale_email, db, till, principal, sale_id, body.email
    )
    key = hashlib.sha256(f"{address}:{idempotency_key or ''}".encode()).hexdigest()[:24]
    scope = f"email-receipt:{principal.user_id}:{till}"

    async def run() -> dict[str, object]:
        done = await email_receipt(
            client,
            ReceiptEmailRequest(
                sale_workflow_id=workflow_id,
                email=address,
                actor_user_id=principal.user_id,
                key=key,
            ),
            task_queue=settings.messages_task_queue,
        )
        return DeliveryOut(
            message_id=done.message_id,
            status=done.status,
            attempts=done.attempts,
            last_error=done.last_error,
        ).model_dump(mode="json")

    request = {"sale": sale_id, "email_sha": hashlib.sha256(address.encode()).hexdigest()}
    return await idempotency.once(db, scope, idempotency_key, request, run, status=202)
