"""The stock view: a SKU across every location the caller may see, and levels paged by location
and search (on hand, reserved, safety stock, in transit, quarantined, available)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import DbDep, PrincipalDep
from api.errors import error_responses
from api.permissions import require_location
from api.routes.transfers import visible
from api.schemas_transfers import LevelOut, LevelsPage, LocationStockOut, SkuStockOut
from db.repositories import stock_view, transfers
from domain.errors import NotFound

router = APIRouter(tags=["stock operations"])
SkuPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._/-]+$")]


def _out(st: stock_view.LocationStock) -> dict[str, object]:
    return {
        "location": st.location,
        "location_name": st.location_name,
        "on_hand": st.on_hand,
        "reserved": st.reserved,
        "safety_stock": st.safety_stock,
        "in_transit": st.in_transit,
        "quarantined": st.quarantined,
        "available": st.available,
    }


@router.get(
    "/stock/levels/{sku}", response_model=SkuStockOut, responses=error_responses(401, 404, 422)
)
def sku_levels(sku: SkuPath, principal: PrincipalDep, db: DbDep) -> SkuStockOut:
    """One SKU at every location the caller may see: on hand, reserved, safety stock, in transit
    (on its way there), quarantined and available to promise (on hand − reserved − safety)."""
    with db.unit_of_work() as s:
        found = stock_view.sku_across(s, sku, visible(principal))
    if found is None:
        raise NotFound(f"There is no SKU {sku}.", code="unknown_sku")
    return SkuStockOut(
        sku=found.sku,
        name=found.name,
        locations=[LocationStockOut.model_validate(_out(st)) for st in found.locations],
    )


@router.get(
    "/stock/levels", response_model=LevelsPage, responses=error_responses(401, 403, 404, 422)
)
def levels(
    principal: PrincipalDep,
    db: DbDep,
    location: Annotated[str | None, Query(max_length=32, description="a location code")] = None,
    q: Annotated[str, Query(max_length=100, description="part of a SKU or name")] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
) -> LevelsPage:
    """Stock levels the caller may see (one location with `location`), by SKU then location."""
    with db.unit_of_work() as s:
        loc_id = None
        if location:
            ref = transfers.place(s, location)
            if ref is None:
                raise NotFound(f"There is no location {location}.", code="unknown_location")
            require_location(principal, ref.id, location)
            loc_id = ref.id
        rows, total = stock_view.levels(
            s,
            location_ids=visible(principal),
            location_id=loc_id,
            q=q.strip(),
            page_no=page,
            per_page=per_page,
        )
    return LevelsPage(
        items=[
            LevelOut.model_validate({"sku": r.sku, "name": r.name, **_out(r.stock)}) for r in rows
        ],
        page=page,
        per_page=per_page,
        total=total,
    )
