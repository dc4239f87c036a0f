"""Finance reports over HTTP: the list, one report as JSON or a file (CSV, XLSX, HTML), and the
packs the daily schedule stored. Finance and admins see every store; a store manager only their
own stores; nobody else."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel

from api.deps import DbDep, PrincipalDep, SettingsDep
from api.errors import ApiError, error_responses
from db.repositories import report_packs
from db.repositories.users import Principal
from db.session import Database
from domain.errors import NotFound
from reports import registry
from reports.base import FORMATS, ReportParams
from reports.render import MEDIA_TYPES
from tillflow.adapters import report_context
from tillflow.settings import Settings

router = APIRouter(prefix="/reports", tags=["reports"])
ReportName = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z_]+$")]
Codes = Annotated[list[str] | None, Query(max_length=200)]
ERRORS = error_responses(401, 403, 404, 422)
EXTRA = ("iif", "xero")  # formats of some reports only (the journal's accounting files)


class ReportInfo(BaseModel):
    name: str
    title: str
    description: str
    day_close: bool


class PackItem(BaseModel):
    report: str
    format: str
    size: int
    url: str


def allowed_locations(principal: Principal) -> frozenset[int] | None:
    """Which stores the caller may report on (None: all); 403 for roles with no reports."""
    if principal.role in ("finance", "admin"):
        return None
    if principal.role == "manager":
        return principal.location_ids
    raise ApiError(
        403,
        "forbidden",
        f"Reports are for finance, admins and store managers; you are a {principal.role}.",
    )


@router.get("", response_model=list[ReportInfo], responses=error_responses(401, 403))
def list_reports(principal: PrincipalDep) -> list[ReportInfo]:
    """Every report there is, and whether the daily pack has it."""
    allowed_locations(principal)
    return [
        ReportInfo(name=s.name, title=s.title, description=s.description, day_close=s.day_close)
        for s in registry.all_specs()
    ]


def _check_codes(values: list[str] | None, what: str) -> tuple[str, ...]:
    out = tuple(v.strip() for v in values or [] if v.strip())
    for v in out:
        if len(v) > 32:
            raise ApiError(422, "invalid", f"A {what} code is at most 32 characters.")
    return out


def _run(
    db: Database,
    settings: Settings,
    principal: Principal,
    name: str,
    params: ReportParams,
    fmt: str,
    section: str | None,
) -> tuple[bytes, str, str]:
    allowed = allowed_locations(principal)
    ctx = report_context(settings)
    registry.spec(name)  # an unknown report is a 404 before anything is loaded
    with db.unit_of_work() as s:
        result = registry.run(s, name, params, ctx, allowed)
    return registry.render_as(name, result, fmt, ctx, section)


@router.get(
    "/{name}",
    responses={
        **ERRORS,
        200: {
            "description": "JSON, or the file in the format asked for",
            "content": {t: {} for t in MEDIA_TYPES.values()},
        },
    },
)
async def get_report(
    name: ReportName,
    principal: PrincipalDep,
    db: DbDep,
    settings: SettingsDep,
    date_from: Annotated[date, Query(alias="from", description="first business day (YYYY-MM-DD)")],
    date_to: Annotated[date, Query(alias="to", description="last business day, included")],
    store: Codes = None,
    till: Codes = None,
    channel: Codes = None,
    format: Annotated[
        str,
        Query(
            pattern="^(" + "|".join((*FORMATS, *EXTRA)) + ")$",
            description="json | csv | xlsx | html; the journal also iif | xero",
        ),
    ] = "json",
    section: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z_]+$")] = None,
) -> Any:
    """One report for a range of business days (each store's own timezone), optionally for some
    stores, tills and channels (repeat the parameter for several). `format=json` (default)
    answers the sections as rows; `csv` (one section with `section=`, else a ZIP of all), `xlsx`
    and `html` come as a download. Money is in minor units in JSON, formatted in files."""
    allowed_locations(principal)
    params = ReportParams(
        date_from,
        date_to,
        _check_codes(store, "store"),
        _check_codes(till, "till"),
        _check_codes(channel, "channel"),
    )
    body, ext, media = await run_in_threadpool(
        _run, db, settings, principal, name, params, format, section
    )
    if format == "json":
        return Response(body, media_type=media)
    filename = f"{name}-{date_from}-{date_to}.{ext}"
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/packs/{day}", response_model=list[PackItem], responses=ERRORS)
def list_pack(day: date, principal: PrincipalDep, db: DbDep) -> list[PackItem]:
    """The day-close pack the daily schedule made for a business day (finance and admins)."""
    if principal.role not in ("finance", "admin"):
        raise ApiError(403, "forbidden", "The daily packs are for finance and admins.")
    with db.unit_of_work() as s:
        rows = report_packs.for_day(s, day)
    return [
        PackItem(
            report=r.report,
            format=r.format,
            size=r.size,
            url=f"/reports/packs/{day}/{r.report}.{r.format}",
        )
        for r in rows
    ]


@router.get(
    "/packs/{day}/{file}",
    responses={**ERRORS, 200: {"content": {t: {} for t in MEDIA_TYPES.values()}}},
)
def get_pack_file(
    day: date,
    file: Annotated[str, Path(max_length=80, pattern=r"^[a-z_]+\.[a-z]+$")],
    principal: PrincipalDep,
    db: DbDep,
) -> Any:
    """One file of a stored pack, as the schedule made it."""
    if principal.role not in ("finance", "admin"):
        raise ApiError(403, "forbidden", "The daily packs are for finance and admins.")
    report, fmt = file.rsplit(".", 1)
    with db.unit_of_work() as s:
        content = report_packs.content(s, day, report, fmt)
    if content is None:
        raise NotFound(f"The pack of {day} has no {file}.", code="no_pack")
    return Response(
        content,
        media_type=MEDIA_TYPES.get(fmt, "application/octet-stream"),
        headers={"Content-Disposition": f'attachment; filename="{report}-{day}.{fmt}"'},
    )
