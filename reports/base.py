"""What every report is made of: its parameters, its sections (a frame each, with the columns
that hold money), an optional chart per section, and the links that trace a row to its saga."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

import pandas as pd

from domain.errors import InvalidRequest

MAX_DAYS = 400  # a report covers at most about a year and a month
FORMATS = ("json", "csv", "xlsx", "html")
Format = Literal["json", "csv", "xlsx", "html"]


@dataclass(frozen=True)
class ReportParams:
    """The same parameters for the CLI, the API and the schedule. Dates are business days in
    each store's own timezone, both ends included; empty filters mean everything the caller may
    see."""

    date_from: date
    date_to: date
    stores: tuple[str, ...] = ()
    tills: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.date_to < self.date_from:
            raise InvalidRequest(
                f"The range ends ({self.date_to}) before it starts ({self.date_from}).",
                code="bad_range",
            )
        if (self.date_to - self.date_from).days + 1 > MAX_DAYS:
            raise InvalidRequest(f"A report covers at most {MAX_DAYS} days.", code="bad_range")

    @property
    def days(self) -> list[date]:
        n = (self.date_to - self.date_from).days + 1
        return [self.date_from + timedelta(days=i) for i in range(n)]


@dataclass(frozen=True)
class Chart:
    kind: Literal["bar", "line", "pie"]
    x: str  # the column along the axis (or the pie's labels)
    y: str  # the value column (minor units are drawn in major units)
    title: str
    money: bool = True


@dataclass(frozen=True)
class Section:
    """One table of a report: a sheet in XLSX, a table (and chart) in HTML, a CSV file."""

    name: str  # short, sheet-safe: [a-z_]+
    title: str
    frame: pd.DataFrame
    money: tuple[str, ...] = ()  # integer minor-unit columns
    currency_column: str = "currency"  # the column naming each row's currency, if present
    chart: Chart | None = None
    note: str = ""


@dataclass(frozen=True)
class ReportResult:
    name: str
    title: str
    params: ReportParams
    sections: tuple[Section, ...]
    currency: str = "EUR"  # for sections without a currency column
    notes: tuple[str, ...] = field(default=())
    locale: str = ""  # how the HTML page writes money (the stores' locale); CSV stays plain

    def section(self, name: str) -> Section:
        for s in self.sections:
            if s.name == name:
                return s
        raise InvalidRequest(
            f"Report {self.name} has no section '{name}'; it has "
            f"{', '.join(s.name for s in self.sections)}.",
            code="unknown_section",
        )


def workflow_link(ui_base: str, namespace: str, workflow_id: str | None) -> str:
    """The Temporal UI page of a workflow ("" without an id or a UI)."""
    if not workflow_id or not ui_base:
        return ""
    if _PLAIN_ID.fullmatch(workflow_id):  # the usual ids: only ':' needs quoting (fast path)
        quoted = workflow_id.replace(":", "%3A")
    else:
        from urllib.parse import quote

        quoted = quote(workflow_id, safe="")
    return f"{ui_base.rstrip('/')}/namespaces/{namespace}/workflows/{quoted}"


# Characters urllib.parse.quote(safe="") leaves as they are, and ':' (which it makes %3A).
_PLAIN_ID = re.compile(r"[A-Za-z0-9_.~:-]*")
