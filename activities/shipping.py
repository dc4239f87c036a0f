"""Buying a parcel's label through the Carrier, storing it (FileStore: PostgreSQL or S3, never a
container's disk) and recording the parcel; a regular activity (network)."""

from __future__ import annotations

from temporalio import activity

from contracts.errors import encode_errors
from contracts.fulfilment import BuyLabel, ParcelOut
from db.repositories import addresses, parcels
from db.session import Database
from domain.errors import InvalidRequest
from integrations.carrier import Carrier, CarrierError, LabelRequest
from integrations.files import MEDIA_TYPES, FileStore, PostgresFileStore


@encode_errors
class ShippingActivities:
    """Labels from the configured carrier."""

    def __init__(self, db: Database, carrier: Carrier, files: FileStore | None = None) -> None:
        self.db = db
        self.carrier = carrier
        self.files: FileStore = files if files is not None else PostgresFileStore(db)

    @activity.defn(name="shipping.buy_label")
    def buy_label(self, req: BuyLabel) -> ParcelOut:
        """Buy the label (once per key) and record the parcel with its tracking number."""
        with self.db.unit_of_work() as s:
            # Issue 19: the order's shipping address and the location's, for a real carrier.
            ctx = addresses.label_context(
                s,
                key=req.key,
                order_number=req.order_number,
                location_id=req.location_id,
                workflow_id=req.workflow_id,
            )
        before = ctx.bought
        if before is not None:  # bought on an earlier attempt: never buy it twice
            return ParcelOut(
                tracking_number=before.tracking_number,
                carrier=before.carrier,
                tracking_url=before.tracking_url,
                label_path=before.label_path,
                weight_g=before.weight_g,
            )
        try:
            label = self.carrier.buy_label(
                LabelRequest(
                    req.key,
                    req.order_number,
                    req.ship_from,
                    req.ship_to_name,
                    req.ship_to_country,
                    req.weight_g,
                    req.length_cm,
                    req.width_cm,
                    req.height_cm,
                    ship_to=ctx.ship_to,
                    ship_from_address=ctx.ship_from,
                    email=ctx.email,
                )
            )
        except CarrierError as err:
            raise InvalidRequest(str(err)) from None
        label_ref = label.path
        if label.content:
            # Keyed by tracking number: a retry stores the same label once.
            label_ref = self.files.put(
                f"labels/{label.tracking_number}.{label.format}",
                label.content,
                MEDIA_TYPES.get(label.format, "application/octet-stream"),
            )
        with self.db.unit_of_work() as s:
            p = parcels.record(
                s,
                key=req.key,
                workflow_id=req.workflow_id,
                location_id=req.location_id,
                task_id=req.task_id,
                weight_g=req.weight_g,
                length_cm=req.length_cm,
                width_cm=req.width_cm,
                height_cm=req.height_cm,
                carrier=label.carrier,
                tracking_number=label.tracking_number,
                tracking_url=label.tracking_url,
                label_path=label_ref,
                label_format=label.format,
            )
        return ParcelOut(
            tracking_number=p.tracking_number,
            carrier=p.carrier,
            tracking_url=p.tracking_url,
            label_path=p.label_path,
            weight_g=p.weight_g,
        )
