"""Carriers' tracking updates (issue 19): stored once against the parcel, and a customer message
(kind `shipment_update`, the notification outbox) when its status changes."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity

from contracts.carriers import SHIPMENT_UPDATE, TrackingRecorded, TrackingUpdate
from contracts.errors import encode_errors
from db.repositories import addresses, outbox
from db.session import Database

# What the customer reads for each status (Shippo's statuses; others say "an update").
STATUS_TEXT = {
    "PRE_TRANSIT": "has a label and waits for the carrier",
    "TRANSIT": "is on its way",
    "DELIVERED": "has been delivered",
    "RETURNED": "is on its way back to us",
    "FAILURE": "could not be delivered",
}


@encode_errors
class CarrierActivities:
    """Tracking updates from carriers."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @activity.defn(name="carriers.record_tracking")
    def record_tracking(self, u: TrackingUpdate) -> TrackingRecorded:
        """Record the update once; a status change of one of our parcels queues the message."""
        when = _date(u.status_date)
        with self.db.unit_of_work() as s:
            owner = addresses.parcel_owner(s, u.tracking_number)
            before = addresses.tracking(s, u.tracking_number)
            fresh = addresses.record_tracking(
                s,
                provider=u.provider,
                event_key=u.event_key,
                tracking_number=u.tracking_number,
                carrier=u.carrier,
                status=u.status,
                status_details=u.status_details,
                status_date=when,
                parcel_id=owner.parcel_id if owner else None,
            )
            changed = fresh and (not before or before[-1].status != u.status)
            notified = False
            if owner is not None and owner.email and changed:
                what = STATUS_TEXT.get(u.status, "has a tracking update")
                order = owner.order_number or "your order"
                notified = outbox.add(
                    s,
                    key=f"{owner.workflow_id}:{SHIPMENT_UPDATE}:{u.event_key}"[:300],
                    kind=SHIPMENT_UPDATE,
                    channel="email",
                    recipient=owner.email,
                    subject=f"Your order {order} {what}",
                    body=f"Hello {owner.customer_name or 'there'},\n\nyour parcel "
                    f"{u.tracking_number} for order {order} {what}."
                    + (f"\n\n{u.status_details}" if u.status_details else ""),
                    reference=owner.workflow_id,
                    data={
                        "order": owner.order_number,
                        "store": owner.store_code,
                        "tracking": u.tracking_number,
                        "status": u.status,
                    },
                )
        return TrackingRecorded(recorded=fresh, known_parcel=owner is not None, notified=notified)


def _date(text: str) -> datetime | None:
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo else at.replace(tzinfo=UTC)
