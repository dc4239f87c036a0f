"""Transfers between locations: the Transfer workflow's id, names and payloads, its activities'
payloads, and the client helpers the API calls.

requested (held at the source) → picked at the source (sellable there → in transit at the
destination) → received at the destination, in one or more deliveries (shortages become a variance
at the source). Cancelling before the pick gives the held units back; after it, the goods must be
received (what never arrives is written off from transit as a shortage when the transfer closes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode

from contracts.common import (
    CENTRAL_TASK_QUEUE,
    WorkflowClosed,
    search_attributes,
    update_with_start,
)
from contracts.errors import decode
from domain.errors import Conflict

TASK_QUEUE = CENTRAL_TASK_QUEUE
TRANSFER_WORKFLOW = "Transfer"
REQUEST_UPDATE = "request"  # answers once the units are held at the source
PICK_UPDATE = "pick"
RECEIVE_UPDATE = "receive"
CANCEL_UPDATE = "cancel"
STATUS_QUERY = "status"
RESERVATION_KIND = "transfer"  # reservations.kind of the units a requested transfer holds

TransferState = Literal["requested", "picked", "received", "cancelled", "failed"]
OPEN_STATES = ("requested", "picked")


def transfer_workflow_id(transfer_id: str) -> str:
    """`transfer:{id}`: the transfer id is the API's own (`TR-…`), unique across the retailer."""
    return f"transfer:{transfer_id}"


@dataclass(frozen=True, kw_only=True)
class TransferLineIn:
    sku: str
    quantity: int


@dataclass(frozen=True, kw_only=True)
class TransferRequest:
    transfer_id: str
    source_location_id: int
    source_code: str
    destination_location_id: int
    destination_code: str
    lines: tuple[TransferLineIn, ...]
    requested_by: int | None
    note: str = ""
    # Ship-to-store: the online order whose pickup waits for these goods; what arrives is held
    # for it at the destination in the same transaction as the receipt.
    order_workflow_id: str = ""


@dataclass(frozen=True, kw_only=True)
class PickIn:
    """What was actually picked at the source (may be less than requested; a SKU left out: 0)."""

    lines: tuple[TransferLineIn, ...]
    picked_by: int | None


@dataclass(frozen=True, kw_only=True)
class ReceiveIn:
    """One delivery counted in at the destination; `close` ends the transfer (what is still
    missing becomes a shortage)."""

    lines: tuple[TransferLineIn, ...]
    received_by: int | None
    close: bool = False


@dataclass(frozen=True, kw_only=True)
class CancelIn:
    cancelled_by: int | None
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class TransferLineView:
    sku: str
    requested: int
    picked: int | None
    received: int
    short: int
    over: int

    @property
    def in_transit(self) -> int:
        return max(0, (self.picked or 0) - self.received) if self.picked is not None else 0


@dataclass(frozen=True, kw_only=True)
class TransferView:
    transfer_id: str
    workflow_id: str
    state: TransferState
    source_code: str
    destination_code: str
    lines: tuple[TransferLineView, ...]
    deliveries: int = 0
    message: str = ""


# ---- activity payloads ------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RecordTransfer:
    workflow_id: str
    request: TransferRequest


@dataclass(frozen=True, kw_only=True)
class TransferRef:
    workflow_id: str
    transfer_id: str


@dataclass(frozen=True, kw_only=True)
class PickCmd:
    workflow_id: str
    transfer_id: str
    pick: PickIn


@dataclass(frozen=True, kw_only=True)
class ReceiveCmd:
    workflow_id: str
    transfer_id: str
    delivery_no: int  # 1, 2, …: keys each delivery's ledger rows
    receipt: ReceiveIn


@dataclass(frozen=True, kw_only=True)
class CancelCmd:
    workflow_id: str
    transfer_id: str
    cancel: CancelIn


# ---- client side ------------------------------------------------------------------------------


async def request_transfer(
    client: Client, req: TransferRequest, *, task_queue: str = TASK_QUEUE
) -> TransferView:
    """Start the transfer and wait until its units are held at the source (409 out_of_stock when
    they are not there: nothing is held then)."""
    workflow_id = transfer_workflow_id(req.transfer_id)
    try:
        return await update_with_start(
            client,
            TRANSFER_WORKFLOW,
            req,
            workflow_id=workflow_id,
            task_queue=task_queue,
            update=REQUEST_UPDATE,
            result_type=TransferView,
            run_result_type=TransferView,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search=search_attributes(store=req.source_code, order=req.order_workflow_id),
        )
    except WorkflowClosed:
        raise Conflict(
            f"Transfer {req.transfer_id} exists already.", code="transfer_exists"
        ) from None


async def _update(
    client: Client, transfer_id: str, update: str, arg: object, state: str
) -> TransferView:
    handle = client.get_workflow_handle(transfer_workflow_id(transfer_id))
    try:
        return await handle.execute_update(update, arg, result_type=TransferView)
    except WorkflowUpdateFailedError as err:
        raise decode(err) from None
    except RPCError as err:
        if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            raise Conflict(
                f"Transfer {transfer_id} is {state}: nothing more can be done with it.",
                code="transfer_closed",
            ) from err
        raise


async def pick_transfer(client: Client, transfer_id: str, pick: PickIn, state: str) -> TransferView:
    """Record the pick at the source (`state`: what the caller last saw, for the message)."""
    return await _update(client, transfer_id, PICK_UPDATE, pick, state)


async def receive_transfer(
    client: Client, transfer_id: str, receipt: ReceiveIn, state: str
) -> TransferView:
    """Record one delivery at the destination."""
    return await _update(client, transfer_id, RECEIVE_UPDATE, receipt, state)


async def cancel_transfer(
    client: Client, transfer_id: str, cancel: CancelIn, state: str
) -> TransferView:
    """Cancel a transfer that has not been picked (409 after the pick)."""
    return await _update(client, transfer_id, CANCEL_UPDATE, cancel, state)
