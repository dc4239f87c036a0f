"""Back office: locations (stores and warehouses), their opening hours and tax rates, and tills.

Admins create and change everything; a store manager may change the ship-from-store and pickup
switches and the opening hours of their own stores, and the devices of their stores' tills.
Every change is audited; a location or till with history is deactivated, never deleted."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from api import idempotency
from api.deps import DbDep, IdempotencyKey, PrincipalDep
from api.errors import ApiError, error_responses
from api.permissions import require_location, require_manager_of, require_role
from api.schemas_admin import (
    DayHoursIn,
    DayHoursOut,
    HoursIn,
    HoursOut,
    LocationIn,
    LocationList,
    LocationOut,
    LocationPatch,
    LocationRemoved,
    TaxRateIn,
    TaxRatesOut,
    TaxRateSpanOut,
    TillIn,
    TillList,
    TillOut,
    TillPatch,
    TillRemoved,
)
from db.models import Location, Till
from db.repositories import bookkeeping, catalog, places_admin, store_hours
from db.repositories.users import Principal
from db.session import Database
from devices.printers import PrinterConfig
from devices.scanner import ScannerConfig
from domain import places
from domain.errors import Conflict, InvalidRequest, NotFound
from domain.money_format import check_locale
from domain.store_hours import WEEKDAYS, DayHours, StoreHours, parse_hhmm

router = APIRouter(prefix="/admin", tags=["back office: places"])
LocationCode = Annotated[str, Path(min_length=1, max_length=32, description="e.g. BER")]
TillCode = Annotated[str, Path(min_length=1, max_length=32, description="e.g. BER1")]
# What a store manager may switch at their own stores; everything else is an admin's.
MANAGER_LOCATION_FIELDS = frozenset({"ship_from_store", "pickup", "shift_required"})
MANAGER_TILL_FIELDS = frozenset({"name", "printer_url", "card_reader", "scanner"})
_ERRORS = error_responses(401, 403, 404, 409, 422)


# ---- shared by the back-office write routes ------------------------------------------------------


def idempotent(
    db: Database,
    principal: Principal,
    scope: str,
    key: str | None,
    request: Any,
    status: int,
    run: Callable[[], BaseModel],
) -> JSONResponse:
    """Run a write once per Idempotency-Key (per caller and route); replays get the first answer.
    `request` must hold no secret: its hash is stored."""
    return idempotency.once_sync(
        db, f"admin:{principal.user_id}:{scope}", key, request, run, status=status
    )


def audit(s: Session, principal: Principal, action: str, subject: str, **detail: Any) -> None:
    bookkeeping.audit(
        s,
        action=action,
        subject=subject,
        actor_user_id=principal.user_id,
        detail={"by": principal.username, **jsonable_encoder(detail)},
    )


def _now() -> datetime:
    return datetime.now(UTC)


# ---- locations -----------------------------------------------------------------------------------


def _location(s: Session, code: str) -> Location:
    found = places_admin.location_by_code(s, code)
    if found is None:
        raise NotFound(f"There is no location {code}.")
    return found


def _visible(principal: Principal) -> frozenset[int] | None:
    """The locations a caller may see in the back office (None: all)."""
    if principal.role in ("admin", "finance"):
        return None
    require_role(principal, "manager")
    return principal.location_ids


def _hours_out(hours: StoreHours) -> list[DayHoursOut]:
    return [
        DayHoursOut(day=WEEKDAYS[d.weekday], opens=_hhmm(d.opens), closes=_hhmm(d.closes))  # type: ignore[arg-type]  # WEEKDAYS holds the Literal's values
        for d in sorted(hours.days, key=lambda d: d.weekday)
    ]


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def location_out(s: Session, loc: Location) -> LocationOut:
    return LocationOut(
        code=loc.code,
        name=loc.name,
        kind=loc.kind,  # type: ignore[arg-type]  # a CHECK constraint holds it to the Literal
        address=loc.address,
        latitude=loc.latitude,
        longitude=loc.longitude,
        country=loc.country,
        currency=loc.currency,
        timezone=loc.timezone,
        locale=loc.locale,
        prices_include_tax=loc.prices_include_tax,
        ship_from_store=loc.ship_from_store,
        pickup=loc.pickup,
        safety_stock_default=loc.safety_stock_default,
        shift_required=loc.shift_required,
        active=loc.active,
        hours=_hours_out(store_hours.hours(s, loc.id)),
        tax_rates=catalog.tax_rates(s, loc.id),
    )


def _days(timezone: str, days: list[DayHoursIn]) -> list[DayHours]:
    """The week's hours, checked as the pickup deadlines will use them."""
    try:
        out = [
            DayHours(WEEKDAYS.index(d.day), parse_hhmm(d.opens), parse_hhmm(d.closes)) for d in days
        ]
        StoreHours(timezone, tuple(out))
    except ValueError as err:
        raise InvalidRequest(str(err), code="bad_hours") from None
    return out


def _check_location_fields(fields: dict[str, Any], current: Location | None) -> None:
    if "timezone" in fields:
        places.check_timezone(fields["timezone"])
    if "currency" in fields:
        places.check_currency(fields["currency"])
    if fields.get("locale"):
        fields["locale"] = check_locale(fields["locale"])
    if fields.get("country") is not None:
        places.check_country(fields["country"])
    if "latitude" in fields or "longitude" in fields:
        lat = fields.get("latitude", current.latitude if current else None)
        lon = fields.get("longitude", current.longitude if current else None)
        places.check_coordinates(lat, lon)


def _initial_rates(s: Session, location_id: int, rates: dict[str, int]) -> None:
    known = set(places_admin.tax_category_codes(s))
    unknown = sorted(set(rates) - known)
    if unknown:
        raise InvalidRequest(
            f"Unknown tax category {', '.join(unknown)}; known: {', '.join(sorted(known))}.",
            code="unknown_tax_category",
        )
    for code, bp in sorted(rates.items()):
        catalog.change_tax_rate(s, location_id, code, bp)


@router.get("/locations", response_model=LocationList, responses=error_responses(401, 403))
def list_locations(
    principal: PrincipalDep, db: DbDep, include_inactive: bool = True
) -> LocationList:
    """Admins and finance: every location; a manager: their own."""
    only = _visible(principal)
    with db.unit_of_work() as s:
        rows = places_admin.locations(s, only=only, include_inactive=include_inactive)
        return LocationList(items=[location_out(s, loc) for loc in rows])


@router.post("/locations", response_model=LocationOut, status_code=201, responses=_ERRORS)
def create_location(
    body: LocationIn, principal: PrincipalDep, db: DbDep, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Admins: open a store or warehouse, with its hours and tax rates (from now on)."""
    require_role(principal)

    def run() -> LocationOut:
        places.check_code(body.code)
        fields = body.model_dump(exclude={"hours", "tax_rates"})
        _check_location_fields(fields, None)
        days = _days(body.timezone, body.hours)
        with db.unit_of_work() as s:
            loc = places_admin.add_location(s, **fields, active=True)
            store_hours.set_hours(s, loc.id, days)
            _initial_rates(s, loc.id, body.tax_rates)
            audit(s, principal, "location.created", f"location:{loc.code}", **body.model_dump())
            return location_out(s, loc)

    return idempotent(
        db, principal, "POST /admin/locations", idempotency_key, body.model_dump(), 201, run
    )


@router.get("/locations/{code}", response_model=LocationOut, responses=_ERRORS)
def get_location(code: LocationCode, principal: PrincipalDep, db: DbDep) -> LocationOut:
    """A location with its hours and the tax rates in effect now."""
    with db.unit_of_work() as s:
        loc = _location(s, code)
        if principal.role != "finance":
            require_manager_of(principal, {loc.id}, code)
        return location_out(s, loc)


@router.patch("/locations/{code}", response_model=LocationOut, responses=_ERRORS)
def update_location(
    code: LocationCode,
    body: LocationPatch,
    principal: PrincipalDep,
    db: DbDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Change a location. Managers of the store: ship_from_store, pickup and shift_required only.
    The currency stays once the location has orders or its own prices; `active: false` closes it
    (and its tills)."""
    fields = body.model_dump(exclude_unset=True)

    def run() -> LocationOut:
        with db.unit_of_work() as s:
            loc = _location(s, code)
            require_manager_of(principal, {loc.id}, code)
            admin_only = sorted(set(fields) - MANAGER_LOCATION_FIELDS)
            if principal.role != "admin" and admin_only:
                raise ApiError(
                    403,
                    "forbidden",
                    f"Only an admin can change {', '.join(admin_only)}; a store manager changes "
                    "ship_from_store, pickup, shift_required and the opening hours.",
                )
            _check_location_fields(fields, loc)
            for required in ("name", "kind", "currency", "timezone", "address"):
                if required in fields and fields[required] is None:
                    raise InvalidRequest(f"{required} cannot be empty.", code="missing_field")
            if fields.get("currency") not in (None, loc.currency) and places_admin.currency_in_use(
                s, loc.id
            ):
                raise Conflict(
                    f"{code} has orders or prices in {loc.currency}: its currency stays.",
                    code="currency_in_use",
                )
            before = {k: getattr(loc, k) for k in fields}
            active = fields.pop("active", None)
            for name, value in fields.items():
                setattr(loc, name, value)
            closed: list[str] = []
            if active is False and loc.active:
                closed = places_admin.deactivate_location(s, loc, _now())
            elif active is True:
                loc.active = True
            s.flush()
            audit(
                s,
                principal,
                "location.updated",
                f"location:{code}",
                before=before,
                after=body.model_dump(exclude_unset=True),
                tills_closed=closed,
            )
            return location_out(s, loc)

    return idempotent(
        db, principal, f"PATCH /admin/locations/{code}", idempotency_key, fields, 200, run
    )


@router.delete("/locations/{code}", response_model=LocationRemoved, responses=_ERRORS)
def remove_location(
    code: LocationCode, principal: PrincipalDep, db: DbDep, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Admins: delete a location nothing refers to; one with stock, open orders or any history
    is deactivated instead (with its tills), so its records keep their place."""
    require_role(principal)

    def run() -> LocationRemoved:
        with db.unit_of_work() as s:
            loc = _location(s, code)
            use = places_admin.location_use(s, loc.id)
            if use.deletable and places_admin.delete_location(s, loc):
                audit(s, principal, "location.deleted", f"location:{code}")
                return LocationRemoved(code=code, outcome="deleted", reason="")
            reasons = [
                why
                for flag, why in (
                    (use.stock, "it holds stock"),
                    (use.open_orders, "it has open orders"),
                    (use.history or use.deletable, "records refer to it"),
                )
                if flag
            ]
            closed = places_admin.deactivate_location(s, loc, _now()) if loc.active else []
            reason = f"{code} was deactivated, not deleted: {', '.join(reasons)}."
            audit(s, principal, "location.deactivated", f"location:{code}", reason=reason)
            return LocationRemoved(
                code=code, outcome="deactivated", reason=reason, tills_closed=closed
            )

    return idempotent(
        db, principal, f"DELETE /admin/locations/{code}", idempotency_key, {}, 200, run
    )


# ---- opening hours -------------------------------------------------------------------------------


def _hours_answer(s: Session, loc: Location) -> HoursOut:
    hours = store_hours.hours(s, loc.id)
    return HoursOut(
        location=loc.code, timezone=loc.timezone, days=_hours_out(hours), summary=hours.describe()
    )


@router.get("/locations/{code}/hours", response_model=HoursOut, responses=_ERRORS)
def get_hours(code: LocationCode, principal: PrincipalDep, db: DbDep) -> HoursOut:
    """The week's opening hours in the location's timezone."""
    with db.unit_of_work() as s:
        loc = _location(s, code)
        require_location(principal, loc.id, code)
        return _hours_answer(s, loc)


@router.put("/locations/{code}/hours", response_model=HoursOut, responses=_ERRORS)
def set_hours(
    code: LocationCode,
    body: HoursIn,
    principal: PrincipalDep,
    db: DbDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Admins or the store's managers: replace the week's hours (a day left out is closed).
    Pickup deadlines count opening time by them."""

    def run() -> HoursOut:
        with db.unit_of_work() as s:
            loc = _location(s, code)
            require_manager_of(principal, {loc.id}, code)
            before = store_hours.hours(s, loc.id).describe()
            store_hours.set_hours(s, loc.id, _days(loc.timezone, body.days))
            answer = _hours_answer(s, loc)
            audit(
                s,
                principal,
                "location.hours",
                f"location:{code}",
                before=before,
                after=answer.summary,
            )
            return answer

    return idempotent(
        db,
        principal,
        f"PUT /admin/locations/{code}/hours",
        idempotency_key,
        body.model_dump(),
        200,
        run,
    )


# ---- tax rates -----------------------------------------------------------------------------------


def _rates_answer(s: Session, loc: Location) -> TaxRatesOut:
    return TaxRatesOut(
        location=loc.code,
        current=catalog.tax_rates(s, loc.id),
        history=[
            TaxRateSpanOut(
                tax_category=r.tax_category,
                rate_bp=r.rate_bp,
                valid_from=r.valid_from,
                valid_to=r.valid_to,
            )
            for r in places_admin.tax_rate_history(s, loc.id)
        ],
    )


@router.get("/locations/{code}/tax-rates", response_model=TaxRatesOut, responses=_ERRORS)
def get_tax_rates(code: LocationCode, principal: PrincipalDep, db: DbDep) -> TaxRatesOut:
    """The rates in effect now, and every past and scheduled one."""
    with db.unit_of_work() as s:
        loc = _location(s, code)
        require_location(principal, loc.id, code)
        return _rates_answer(s, loc)


@router.post("/locations/{code}/tax-rates", response_model=TaxRatesOut, responses=_ERRORS)
def change_tax_rate(
    code: LocationCode,
    body: TaxRateIn,
    principal: PrincipalDep,
    db: DbDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Admins: change a tax category's rate from now, or schedule it (`valid_from` later). Past
    rates are never rewritten: every sale stays taxed as of its time."""
    require_role(principal)

    def run() -> TaxRatesOut:
        with db.unit_of_work() as s:
            loc = _location(s, code)
            if body.valid_from is not None and body.valid_from.tzinfo is None:
                raise InvalidRequest(
                    "valid_from needs a timezone (e.g. 2027-01-01T00:00:00+01:00).",
                    code="naive_datetime",
                )
            catalog.change_tax_rate(s, loc.id, body.tax_category, body.rate_bp, at=body.valid_from)
            audit(s, principal, "location.tax_rate", f"location:{code}", **body.model_dump())
            return _rates_answer(s, loc)

    return idempotent(
        db,
        principal,
        f"POST /admin/locations/{code}/tax-rates",
        idempotency_key,
        body.model_dump(),
        200,
        run,
    )


# ---- tills ---------------------------------------------------------------------------------------


def till_out(till: Till, location_code: str) -> TillOut:
    return TillOut(
        code=till.code,
        location=location_code,
        name=till.name,
        printer_url=till.printer_url,
        card_reader=till.card_reader,
        scanner=till.scanner,
        active=till.active,
        last_contact_at=till.last_contact_at,
        snapshot_at=till.snapshot_at,
    )


def _check_devices(fields: dict[str, Any]) -> None:
    """Device settings parsed exactly as the device worker and the till agent will parse them."""
    if fields.get("printer_url"):
        try:
            PrinterConfig.parse(fields["printer_url"])
        except ValueError as err:
            raise InvalidRequest(str(err), code="bad_printer_url") from None
    if fields.get("scanner"):
        try:
            ScannerConfig.parse(fields["scanner"])
        except ValueError as err:
            raise InvalidRequest(str(err), code="bad_scanner") from None
    if fields.get("card_reader") is not None:
        places.check_card_reader(fields["card_reader"])
    for name in ("printer_url", "scanner", "card_reader", "name"):
        if name in fields and fields[name] is None:
            raise InvalidRequest(f'{name} cannot be null; use "" for none.', code="missing_field")


def _store(s: Session, code: str) -> Location:
    loc = _location(s, code)
    if loc.kind != "store":
        raise InvalidRequest(f"{code} is a warehouse: tills belong to stores.", code="not_a_store")
    if not loc.active:
        raise Conflict(
            f"{code} is closed: reopen it before adding tills.", code="location_inactive"
        )
    return loc


def _till(s: Session, code: str) -> tuple[Till, Location]:
    till = places_admin.till_by_code(s, code)
    if till is None:
        raise NotFound(f"There is no till {code}.")
    loc = s.get(Location, till.location_id)
    assert loc is not None
    return till, loc


@router.get("/tills", response_model=TillList, responses=error_responses(401, 403))
def list_tills(principal: PrincipalDep, db: DbDep) -> TillList:
    """Admins and finance: every till; a manager: their stores' tills."""
    only = _visible(principal)
    with db.unit_of_work() as s:
        return TillList(items=[till_out(t, c) for t, c in places_admin.tills_at(s, only=only)])


@router.post("/tills", response_model=TillOut, status_code=201, responses=_ERRORS)
def create_till(
    body: TillIn, principal: PrincipalDep, db: DbDep, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Admins: add a till to a store, with its printer, card reader and scanner."""
    require_role(principal)

    def run() -> TillOut:
        places.check_code(body.code, "till")
        _check_devices(body.model_dump())
        with db.unit_of_work() as s:
            loc = _store(s, body.location)
            till = places_admin.add_till(
                s,
                code=body.code,
                location_id=loc.id,
                name=body.name or f"Till {body.code}",
                printer_url=body.printer_url.strip(),
                card_reader=body.card_reader,
                scanner=body.scanner.strip(),
                active=body.active,
            )
            audit(s, principal, "till.created", f"till:{till.code}", **body.model_dump())
            return till_out(till, loc.code)

    return idempotent(
        db, principal, "POST /admin/tills", idempotency_key, body.model_dump(), 201, run
    )


@router.get("/tills/{code}", response_model=TillOut, responses=_ERRORS)
def get_till(code: TillCode, principal: PrincipalDep, db: DbDep) -> TillOut:
    """One till with its devices (printer, card reader, scanner): its store's managers, finance
    and admins."""
    with db.unit_of_work() as s:
        till, loc = _till(s, code)
        if principal.role != "finance":
            require_manager_of(principal, {loc.id}, loc.code)
        return till_out(till, loc.code)


@router.patch("/tills/{code}", response_model=TillOut, responses=_ERRORS)
def update_till(
    code: TillCode,
    body: TillPatch,
    principal: PrincipalDep,
    db: DbDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Change a till. The store's managers: name, printer, card reader, scanner; a new printer is
    used by the till's device worker from its next job (see docs/stores-and-staff.md). Admins:
    also move it to another store or (de)activate it (which ends its sign-ins)."""
    fields = body.model_dump(exclude_unset=True)

    def run() -> TillOut:
        _check_devices(fields)
        with db.unit_of_work() as s:
            till, loc = _till(s, code)
            require_manager_of(principal, {loc.id}, loc.code)
            admin_only = sorted(set(fields) - MANAGER_TILL_FIELDS)
            if principal.role != "admin" and admin_only:
                raise ApiError(
                    403,
                    "forbidden",
                    f"Only an admin can change {', '.join(admin_only)} of a till.",
                )
            before = {k: getattr(till, k) for k in fields if k != "location"}
            revoked = 0
            if "location" in fields and fields["location"] != loc.code:
                loc = _store(s, fields["location"])
                till.location_id = loc.id
                revoked = places_admin.revoke_till_tokens(s, till.id, _now())
            for name in ("name", "printer_url", "card_reader", "scanner"):
                if name in fields:
                    setattr(till, name, fields[name].strip())
            if fields.get("active") is False and till.active:
                revoked += places_admin.deactivate_till(s, till, _now())
            elif fields.get("active") is True:
                if not loc.active:
                    raise Conflict(
                        f"{loc.code} is closed: reopen it first.", code="location_inactive"
                    )
                till.active = True
            s.flush()
            audit(
                s,
                principal,
                "till.updated",
                f"till:{code}",
                before=before,
                after=fields,
                tokens_revoked=revoked,
            )
            return till_out(till, loc.code)

    return idempotent(
        db, principal, f"PATCH /admin/tills/{code}", idempotency_key, fields, 200, run
    )


@router.delete("/tills/{code}", response_model=TillRemoved, responses=_ERRORS)
def remove_till(
    code: TillCode, principal: PrincipalDep, db: DbDep, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Admins: delete a till that never sold; one with sales, shifts or sign-ins is deactivated
    (its sign-ins end now)."""
    require_role(principal)

    def run() -> TillRemoved:
        with db.unit_of_work() as s:
            till, _ = _till(s, code)
            if places_admin.delete_till(s, till):
                audit(s, principal, "till.deleted", f"till:{code}")
                return TillRemoved(code=code, outcome="deleted")
            revoked = places_admin.deactivate_till(s, till, _now()) if till.active else 0
            audit(s, principal, "till.deactivated", f"till:{code}", tokens_revoked=revoked)
            return TillRemoved(code=code, outcome="deactivated", tokens_revoked=revoked)

    return idempotent(db, principal, f"DELETE /admin/tills/{code}", idempotency_key, {}, 200, run)
