"""Ship from store: pick → pack (weight, size) → a label from the carrier → handed to the carrier
(shipped). A store that cannot do it (shortage, no staff) rejects it and the parent re-routes the
order."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.shipping import ShippingActivities
    from contracts.errors import as_workflow_failure, to_failure
    from contracts.fulfilment import (
        PACK,
        PACK_UPDATE,
        SHIP,
        SHIP_UPDATE,
        SHIP_WORKFLOW,
        BuyLabel,
        FulfilmentRequest,
        FulfilmentResult,
        FulfilmentState,
        PackReport,
        ParcelOut,
        ShipReport,
        Staff,
    )
    from domain.errors import Conflict, InvalidRequest
    from workflows.fulfilment_base import ANSWER_STEP, FulfilmentBase
    from workflows.saga import Saga

MAX_WEIGHT_G, MAX_SIDE_CM = 70_000, 300  # beyond any parcel carrier; the carrier may refuse less


@workflow.defn(name=SHIP_WORKFLOW)
class ShipFromStoreWorkflow(FulfilmentBase):
    """One order's parcel(s) from one location, from the pick list to the carrier's van."""

    KIND = SHIP_WORKFLOW

    @workflow.init
    def __init__(self, req: FulfilmentRequest) -> None:
        super().__init__(req)
        self._packed: dict[str, int] = {}
        self._parcels: list[ParcelOut] = []
        self._pack_event: tuple[Staff, ParcelOut] | None = None
        self._ship_event: Staff | None = None

    @workflow.run
    async def run(self, req: FulfilmentRequest) -> FulfilmentResult:
        return await self._run_saga(self._ship_order)

    async def _ship_order(self, saga: Saga) -> FulfilmentResult:
        await self._start()
        while True:
            outcome = await self._pick()
            if outcome in ("short", "rejected"):
                await self._cancel_all(outcome)
                return self._rejected()
            if outcome == "withdrawn":
                await self._cancel_all("withdrawn")
                self._phase = "withdrawn"
                return FulfilmentResult(status="withdrawn")
            unpacked = self._unpacked()
            if unpacked:
                await self._pack(unpacked)
                continue
            if await self._hand_to_carrier():
                return self._shipped()

    def _unpacked(self) -> dict[str, int]:
        return {
            s: q - self._packed.get(s, 0)
            for s, q in sorted(self._picked.items())
            if q > self._packed.get(s, 0)
        }

    def _changed(self) -> None:
        self._trim()
        self._packed = {s: min(q, self._picked.get(s, 0)) for s, q in self._packed.items()}

    async def _pack(self, unpacked: dict[str, int]) -> None:
        """Wait for the parcel to be packed and labelled (the `pack` update buys the label)."""
        assert self._setup is not None
        if PACK in self._tasks:
            await self._amend(PACK, unpacked)
        else:
            await self._create_task(PACK, unpacked, self._due(self._setup.pick_sla_s))
        self._current, self._phase = PACK, "packing"
        seen = self._changes
        await self._until(lambda: self._pack_event is not None or self._changes != seen, None)
        if self._pack_event is None:
            self._changed()
            return
        (staff, parcel), self._pack_event = self._pack_event, None
        try:
            self._parcels.append(parcel)
            for sku, qty in unpacked.items():
                self._packed[sku] = self._packed.get(sku, 0) + qty
            await self._close(
                PACK,
                "packed",
                staff,
                detail={"tracking": parcel.tracking_number, "packed_by": staff.name},
            )
        finally:
            self._handled += 1

    async def _hand_to_carrier(self) -> bool:
        """The ship task: hand the parcels to the carrier. False when lines changed meanwhile."""
        assert self._setup is not None
        tracking = ", ".join(p.tracking_number for p in self._parcels)
        if SHIP in self._tasks:
            await self._amend(SHIP, self._packed)
        else:
            await self._create_task(
                SHIP, self._packed, self._due(self._setup.pick_sla_s), {"tracking": tracking}
            )
        self._current, self._phase = SHIP, "labelled"
        seen = self._changes
        await self._until(lambda: self._ship_event is not None or self._changes != seen, None)
        if self._ship_event is None:
            self._changed()
            return False
        staff, self._ship_event = self._ship_event, None
        try:
            await self._close(SHIP, "shipped", staff, detail={"shipped_by": staff.name})
            self._phase = "shipped"
        finally:
            self._handled += 1
        r = self._req
        await self._notify(
            "shipped",
            f"Your order {r.order_number} is on its way",
            f"Hello {r.customer_name or 'there'},\n\nyour order {r.order_number} has left "
            f"{self._setup.location_name}. Tracking: {tracking} ({self._parcels[0].carrier}).",
            tracking=tracking,
            carrier=self._parcels[0].carrier,
        )
        return True

    def _shipped(self) -> FulfilmentResult:
        first = self._parcels[0]
        more = (
            f" and {len(self._parcels) - 1} more parcel(s): "
            + ", ".join(p.tracking_number for p in self._parcels[1:])
            if len(self._parcels) > 1
            else ""
        )
        return FulfilmentResult(
            status="shipped",
            tracking_number=first.tracking_number,
            carrier=first.carrier,
            tracking_url=first.tracking_url,
            message=f"Shipped from {self._req.location_code}{more}.",
        )

    # ---- handlers --------------------------------------------------------------------------------

    @workflow.update(name=PACK_UPDATE)
    async def pack(self, p: PackReport) -> FulfilmentState:
        """The parcel is packed: buy its label (weight and size from the packer) and print it."""
        assert self._setup is not None
        r, s = self._req, self._setup
        task = self._require(p.task_id, PACK)
        try:
            parcel = await workflow.execute_activity_method(
                ShippingActivities.buy_label,
                BuyLabel(
                    key=f"{self._wf}:parcel:{len(self._parcels) + 1}",
                    workflow_id=self._wf,
                    location_id=r.location_id,
                    task_id=task.id,
                    order_number=r.order_number,
                    ship_from=f"{s.location_name}, {s.location_address}",
                    ship_to_name=r.customer_name,
                    ship_to_country=r.country,
                    weight_g=p.weight_g,
                    length_cm=p.length_cm,
                    width_cm=p.width_cm,
                    height_cm=p.height_cm,
                ),
                **ANSWER_STEP,
            )
        except ActivityError as err:
            raise as_workflow_failure(err) from None
        return await self._after(lambda: setattr(self, "_pack_event", (p.staff, parcel)))

    @pack.validator
    def _validate_pack(self, p: PackReport) -> None:
        self._require(p.task_id, PACK)
        if self._pack_event is not None:
            raise to_failure(Conflict("This parcel was reported packed already."))
        if not 0 < p.weight_g <= MAX_WEIGHT_G:
            raise to_failure(InvalidRequest(f"The weight must be 1 to {MAX_WEIGHT_G} g."))
        if not all(0 < side <= MAX_SIDE_CM for side in (p.length_cm, p.width_cm, p.height_cm)):
            raise to_failure(InvalidRequest(f"Each side must be 1 to {MAX_SIDE_CM} cm."))

    @workflow.update(name=SHIP_UPDATE)
    async def ship(self, s: ShipReport) -> FulfilmentState:
        """The carrier took the parcel(s): the order is shipped from here."""
        return await self._after(lambda: setattr(self, "_ship_event", s.staff))

    @ship.validator
    def _validate_ship(self, s: ShipReport) -> None:
        self._require(s.task_id, SHIP)
        if self._todo() or self._unpacked():
            raise to_failure(
                Conflict("More items were added to this order: pick and pack them first.")
            )
        if self._ship_event is not None:
            raise to_failure(Conflict("This order was reported shipped already."))

    def state(self) -> FulfilmentState:
        return self._state(parcels=tuple(self._parcels))
