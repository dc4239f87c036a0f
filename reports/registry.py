"""Every report by name: its loader (db/report_loaders/, the only place reports meet the
database) and its pure builder (reports/<name>.py). The CLI, the API and the daily schedule all
run a report through `run`, with the same parameters."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace

import pandas as pd
from sqlalchemy.orm import Session

from db.report_loaders import scope as scopes
from domain.errors import InvalidRequest, NotFound
from domain.report_context import ReportContext, context_for
from reports.base import ReportParams, ReportResult

Frames = Mapping[str, pd.DataFrame]
__all__ = [
    "ExtraFormat",
    "ReportContext",
    "ReportSpec",
    "context_for",
    "register",
    "render_as",
    "run",
    "spec",
]


@dataclass(frozen=True)
class ExtraFormat:
    write: Callable[[ReportResult, ReportContext], bytes]
    extension: str
    media_type: str


@dataclass(frozen=True)
class ReportSpec:
    name: str
    title: str
    description: str
    load: Callable[[Session, scopes.Scope, ReportContext], Frames]
    build: Callable[[Frames, ReportParams, ReportContext], ReportResult]
    day_close: bool = False  # part of the pack the daily schedule makes
    # Formats of this report beside json / csv / xlsx / html: name -> (writer, file extension,
    # media type); e.g. the journal's QuickBooks IIF and Xero CSV.
    extra_formats: Mapping[str, ExtraFormat] = field(default_factory=dict)


REPORTS: dict[str, ReportSpec] = {}


def register(spec: ReportSpec) -> ReportSpec:
    REPORTS[spec.name] = spec
    return spec


def spec(name: str) -> ReportSpec:
    _load_all()
    found = REPORTS.get(name)
    if found is None:
        raise NotFound(
            f"There is no report '{name}'; reports: {', '.join(sorted(REPORTS))}.",
            code="unknown_report",
        )
    return found


def all_specs() -> list[ReportSpec]:
    _load_all()
    return [REPORTS[n] for n in sorted(REPORTS)]


def render_as(
    name: str, result: ReportResult, fmt: str, ctx: ReportContext, section: str | None = None
) -> tuple[bytes, str, str]:
    """The report in `fmt`: a shared format, or one of the report's own. Returns the bytes, the
    file extension and the media type."""
    from reports.base import FORMATS
    from reports.render import MEDIA_TYPES, render

    own = spec(name).extra_formats.get(fmt)
    if own is not None:
        return own.write(result, ctx), own.extension, own.media_type
    if fmt not in FORMATS:
        raise InvalidRequest(
            f"Report {name} comes as {', '.join([*FORMATS, *spec(name).extra_formats])}, "
            f"not '{fmt}'.",
            code="bad_format",
        )
    data, kind = render(result, fmt, section)  # type: ignore[arg-type]  # checked just above
    return data, kind, MEDIA_TYPES[kind]


def run(
    session: Session,
    name: str,
    params: ReportParams,
    ctx: ReportContext,
    allowed_location_ids: Collection[int] | None = None,
) -> ReportResult:
    """Load and build one report for a caller who may see `allowed_location_ids` (None: all)."""
    s = spec(name)
    sc = scopes.resolve(
        session,
        params.date_from,
        params.date_to,
        params.stores,
        params.tills,
        params.channels,
        allowed_location_ids,
    )
    result = s.build(s.load(session, sc, ctx), params, ctx)
    return replace(result, locale=sc.locale) if sc.locale and not result.locale else result


def _load_all() -> None:
    """Import every module of reports/registrations/ (each registers its report once)."""
    import importlib
    import pkgutil

    import reports.registrations as package

    for m in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{m.name}")
