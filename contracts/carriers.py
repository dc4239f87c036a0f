"""Carriers' tracking updates (issue 19): the CarrierTracking workflow's name, id, payloads and the
client helper the webhook route starts it with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from contracts.common import FULFILMENT_TASK_QUEUE

TrackingStatus = Literal["PRE_TRANSIT", "TRANSIT", "DELIVERED", "RETURNED", "FAILURE", "UNKNOWN"]
TRACKING_WORKFLOW = "CarrierTracking"
TASK_QUEUE = FULFILMENT_TASK_QUEUE  # beside ShipFromStore, which bought the parcel's label
SHIPMENT_UPDATE = "shipment_update"  # the customer message's kind in the notification outbox


def tracking_workflow_id(event_key: str) -> str:
    """`carrier-tracking:{event key}`: one workflow per tracking update (a redelivery finds it)."""
    return f"carrier-tracking:{event_key}"


@dataclass(frozen=True, kw_only=True)
class TrackingUpdate:
    provider: str  # shippo
    event_key: str  # dedupe key of this update
    tracking_number: str
    carrier: str  # the provider's carrier token, e.g. "dhl_express"
    status: TrackingStatus
    status_details: str = ""
    status_date: str = ""  # ISO 8601, "" when the carrier gave none


@dataclass(frozen=True, kw_only=True)
class TrackingRecorded:
    recorded: bool  # False: this update was recorded before
    known_parcel: bool  # a parcel of ours has this tracking number
    notified: bool  # a customer message was queued


async def start_tracking(client: Client, update: TrackingUpdate) -> bool:
    """Start the update's workflow; False when it was started before (a redelivery)."""
    try:
        await client.start_workflow(
            TRACKING_WORKFLOW,
            update,
            id=tracking_workflow_id(update.event_key),
            task_queue=TASK_QUEUE,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        return False
    return True
