"""Fiscal compliance (issue 20): each location's fiscal unit (how it signs), its signed records,
and the export its tax office reads (DSFinV-K for a German TSE, SAF-T (PT) for Portugal).

Admins set and remove a location's unit; admins, finance and the store's managers read it and its
records; finance and admins download the export. Setting a unit is audited like every admin write.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.deps import DbDep, IdempotencyKey, PrincipalDep
from api.errors import ApiError, error_responses
from api.permissions import require_location, require_manager_of, require_role
from api.routes.admin_places import audit, idempotent
from contracts.fiscal import FiscalExport, FiscalExportRequest, FiscalScheme
from db.models import Location
from db.repositories import fiscal
from db.repositories.users import Principal
from db.session import Database
from domain.errors import InvalidRequest
from domain.fiscal_pt import parse_options
from integrations.fiscal import FiscalSigners

router = APIRouter(tags=["back office: fiscal"])
LocationCode = Annotated[str, Path(min_length=1, max_length=32, description="e.g. BER")]
_ERRORS = error_responses(401, 403, 404, 409, 422)
MAX_DAYS = 366  # one request reads at most a year of records or exports
MAX_RECORDS = 5000
# The country each scheme is for: a unit of another country's scheme is refused.
SCHEME_COUNTRY: dict[str, str] = {"de-fiskaly": "DE", "pt-at": "PT"}


class FiscalUnitIn(BaseModel):
    scheme: Literal["none", "de-fiskaly", "pt-at"] = Field(
        description="none: signs nothing; de-fiskaly: a fiskaly SIGN DE cloud TSE; pt-at: "
        "Portugal's certified-software signature"
    )
    options: dict[
        Annotated[str, Field(min_length=1, max_length=64)],
        Annotated[str, Field(max_length=500)],
    ] = Field(
        default_factory=dict,
        max_length=50,
        description="the scheme's settings: de-fiskaly tss_id and client_id (UUIDs); pt-at nif, "
        "company_name, series.<FS|FT|NC>[.<till>], validation_code.<series>, ... "
        "(docs/fiscal.md)",
    )


class FiscalUnitOut(BaseModel):
    location: str
    country: str
    scheme: str
    options: dict[str, str]
    pending: int  # records still waiting for their signature
    updated_at: datetime | None


class FiscalUnitRemoved(BaseModel):
    location: str
    removed: bool


class FiscalRecordOut(BaseModel):
    document_id: str
    kind: str
    till: str
    scheme: str
    status: str
    number: str
    occurred_at: datetime
    signed_at: datetime | None
    receipt_lines: list[str]
    qr: str
    fields: dict[str, str]
    total: int
    currency: str


class FiscalRecordsOut(BaseModel):
    location: str
    date_from: date
    date_to: date
    records: list[FiscalRecordOut]
    truncated: bool  # more records than MAX_RECORDS in the range: ask for a shorter one


def _location(s: Session, code: str) -> Location:
    loc, _ = fiscal.unit_row(s, code)
    return loc


def _validated(country: str, body: FiscalUnitIn) -> dict[str, str]:
    """The options as stored, after the scheme's own checks; 422 with the reason otherwise."""
    wanted = SCHEME_COUNTRY.get(body.scheme)
    if wanted is not None and country != wanted:
        raise InvalidRequest(
            f"Scheme {body.scheme} is for locations in {wanted}; this one is in "
            f"{country or 'no country'}.",
            code="fiscal_scheme_country",
        )
    options = {k.strip(): v.strip() for k, v in body.options.items()}
    if body.scheme == "de-fiskaly":
        for key in ("tss_id", "client_id"):
            try:
                uuid.UUID(options.get(key, ""))
            except ValueError:
                raise InvalidRequest(
                    f"de-fiskaly needs option {key}: the UUID fiskaly knows it by.",
                    code="fiscal_options_invalid",
                ) from None
    elif body.scheme == "pt-at":
        parse_options(options)  # 422 pt_options_invalid with what is wrong
    elif options:
        raise InvalidRequest("Scheme none takes no options.", code="fiscal_options_invalid")
    return options


def _unit_answer(s: Session, code: str) -> FiscalUnitOut:
    loc, row = fiscal.unit_row(s, code)
    return FiscalUnitOut(
        location=loc.code,
        country=loc.country or "",
        scheme=row.scheme if row else "none",
        options={str(k): str(v) for k, v in (row.options if row else {}).items()},
        pending=fiscal.count_pending(s, loc.id),
        updated_at=row.updated_at if row else None,
    )


def _may_read(principal: Principal, location_id: int, code: str) -> None:
    """Admins and finance anywhere; a manager at their own stores."""
    if principal.role in ("admin", "finance"):
        return
    require_manager_of(principal, {location_id}, code)


@router.get("/admin/locations/{code}/fiscal", response_model=FiscalUnitOut, responses=_ERRORS)
def get_fiscal_unit(code: LocationCode, principal: PrincipalDep, db: DbDep) -> FiscalUnitOut:
    """A location's fiscal unit: its scheme (none when it has no unit), the scheme's options and
    how many documents still wait for their signature. Admins, finance, the store's managers."""
    with db.unit_of_work() as s:
        loc = _location(s, code)
        _may_read(principal, loc.id, code)
        return _unit_answer(s, code)


@router.put("/admin/locations/{code}/fiscal", response_model=FiscalUnitOut, responses=_ERRORS)
def set_fiscal_unit(
    code: LocationCode,
    body: FiscalUnitIn,
    principal: PrincipalDep,
    db: DbDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Admins: set how a location signs its till documents (scheme and options, checked against
    the location's country and the scheme's rules); audited. From the next sale on, its Sale,
    Return and Shift workflows run the signing step (scheme none: no step at all)."""
    require_role(principal)

    def run() -> FiscalUnitOut:
        with db.unit_of_work() as s:
            loc = _location(s, code)
            options = _validated(loc.country or "", body)
            before = _unit_answer(s, code)
            fiscal.set_unit(s, loc.id, cast(FiscalScheme, body.scheme), options)
            audit(
                s,
                principal,
                "location.fiscal",
                f"location:{code}",
                before={"scheme": before.scheme, "options": before.options},
                after={"scheme": body.scheme, "options": options},
            )
            return _unit_answer(s, code)

    return idempotent(
        db,
        principal,
        f"PUT /admin/locations/{code}/fiscal",
        idempotency_key,
        body.model_dump(),
        200,
        run,
    )


@router.delete(
    "/admin/locations/{code}/fiscal", response_model=FiscalUnitRemoved, responses=_ERRORS
)
def remove_fiscal_unit(
    code: LocationCode, principal: PrincipalDep, db: DbDep, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Admins: the location signs nothing from now on (its records stay); audited. Refused while
    documents still wait for their signature (409 `fiscal_pending`)."""
    require_role(principal)

    def run() -> FiscalUnitRemoved:
        with db.unit_of_work() as s:
            loc = _location(s, code)
            waiting = fiscal.count_pending(s, loc.id)
            if waiting:
                raise ApiError(
                    409,
                    "fiscal_pending",
                    f"{waiting} document(s) of {code} still wait for their signature; remove the "
                    "unit once they are signed.",
                )
            removed = fiscal.remove_unit(s, loc.id)
            if removed:
                audit(s, principal, "location.fiscal_removed", f"location:{code}")
            return FiscalUnitRemoved(location=loc.code, removed=removed)

    return idempotent(
        db, principal, f"DELETE /admin/locations/{code}/fiscal", idempotency_key, {}, 200, run
    )


DateFrom = Annotated[date, Query(alias="from", description="first day (YYYY-MM-DD), store time")]
DateTo = Annotated[date, Query(alias="to", description="last day, included")]


def _range(first: date, last: date) -> None:
    if last < first:
        raise InvalidRequest("'to' is before 'from'.", code="bad_range")
    if (last - first).days >= MAX_DAYS:
        raise InvalidRequest(f"Ask for at most {MAX_DAYS} days at once.", code="bad_range")


def _record_out(r: Any) -> FiscalRecordOut:
    doc = dict(r.document or {})
    return FiscalRecordOut(
        document_id=r.document_id,
        kind=r.kind,
        till=r.till_code,
        scheme=r.scheme,
        status=r.status,
        number=r.number,
        occurred_at=r.occurred_at,
        signed_at=r.signed_at,
        receipt_lines=list(r.receipt_lines or ()),
        qr=r.qr or "",
        fields={str(k): str(v) for k, v in (r.fields or ())},
        total=int(doc.get("total", 0)),
        currency=str(doc.get("currency", "")),
    )


@router.get("/fiscal/{code}/records", response_model=FiscalRecordsOut, responses=_ERRORS)
def fiscal_records(
    code: LocationCode,
    principal: PrincipalDep,
    db: DbDep,
    date_from: DateFrom,
    date_to: DateTo,
    till: Annotated[str | None, Query(max_length=32, description="one till only")] = None,
) -> FiscalRecordsOut:
    """The location's signed (and pending) documents of a range of days, in the order they
    happened: what each receipt printed and what an audit keeps. Admins, finance, the store's
    managers (their own stores only)."""
    _range(date_from, date_to)
    with db.unit_of_work() as s:
        loc = _location(s, code)
        _may_read(principal, loc.id, code)
        start, end = fiscal.local_range(s, loc.id, date_from, date_to)
        rows = fiscal.records_between(s, loc.id, start, end, till or "")
        return FiscalRecordsOut(
            location=loc.code,
            date_from=date_from,
            date_to=date_to,
            records=[_record_out(r) for r in rows[:MAX_RECORDS]],
            truncated=len(rows) > MAX_RECORDS,
        )


def signers_of(request: Request, db: Database) -> FiscalSigners:
    """The signers the export is asked of, built once per API process from its settings (a test
    may put its own in `app.state.fiscal_signers`)."""
    found = getattr(request.app.state, "fiscal_signers", None)
    if isinstance(found, FiscalSigners):
        return found
    from tillflow.adapters import fiscal_signers

    built = fiscal_signers(request.app.state.settings, db)
    request.app.state.fiscal_signers = built
    return built


@router.get(
    "/fiscal/{code}/export",
    responses={
        **_ERRORS,
        200: {"description": "the export file (DSFinV-K ZIP, SAF-T (PT) XML)", "content": {}},
    },
)
async def fiscal_export(
    code: LocationCode,
    principal: PrincipalDep,
    db: DbDep,
    request: Request,
    date_from: DateFrom,
    date_to: DateTo,
    till: Annotated[str, Query(max_length=32, description="one till only")] = "",
) -> Response:
    """Finance and admins: the file the location's tax office reads for a range of days, built by
    its signer from the signed records (Germany: the DSFinV-K ZIP, optionally of one till;
    Portugal: the SAF-T (PT) XML). 422 `no_fiscal_unit` for a location that signs nothing."""
    require_role(principal, "finance")
    _range(date_from, date_to)

    def unit() -> Any:
        with db.unit_of_work() as s:
            loc = _location(s, code)
            require_location(principal, loc.id, code)
            found = fiscal.unit_of(s, loc.id)
            if found is None:
                raise InvalidRequest(
                    f"Location {code} has no fiscal unit: there is nothing to export.",
                    code="no_fiscal_unit",
                )
            return found

    found = await run_in_threadpool(unit)
    signer = signers_of(request, db).for_unit(found)
    asked = FiscalExportRequest(
        location_code=found.location_code, date_from=date_from, date_to=date_to, till_code=till
    )
    # On a loop of its own in a thread: an export reads (and zips) a lot, and this process's
    # event loop also runs the till's sales (the in-process sale worker).
    exported: FiscalExport = await run_in_threadpool(
        lambda: asyncio.run(signer.export(found, asked))
    )
    return Response(
        exported.content,
        media_type=exported.media_type,
        headers={"Content-Disposition": f'attachment; filename="{exported.filename}"'},
    )
