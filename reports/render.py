"""The shared renderers of every report: JSON (for the API), CSV (one file per section; several
sections come as a ZIP of them), XLSX (a sheet per section, money formatted in its currency) and
a self-contained HTML page with its charts drawn server-side as inline SVG (no CDN, no script).

Money is integer minor units in every frame; only these functions turn it into amounts."""

from __future__ import annotations

import html
import io
import json
import math
import zipfile
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pandas as pd

from domain.money import exponent
from domain.money_format import format_amount
from reports.base import Format, ReportResult, Section

MEDIA_TYPES: dict[str, str] = {
    "json": "application/json",
    "csv": "text/csv",
    "zip": "application/zip",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "html": "text/html; charset=utf-8",
}


def _missing(value: Any) -> bool:
    """None, NaN, NaT or pandas' NA (nullable columns); never true for a list or a dict."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return False


def _plain(value: Any) -> Any:
    """A cell as JSON has it: numbers stay numbers, missing is null, times are ISO 8601."""
    if _missing(value):
        return None
    if isinstance(value, Decimal):  # numeric sums from PostgreSQL
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, pd.Timestamp | datetime | date):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    cols = [str(c) for c in frame.columns]
    return [
        {c: _plain(v) for c, v in zip(cols, row, strict=True)}
        for row in frame.itertuples(index=False, name=None)
    ]


def _json_default(value: Any) -> Any:
    """Anything a cell may hold inside a list or dict (dates, decimals, numpy scalars)."""
    plain = _plain(value)
    if plain is value:
        return str(value)
    return plain


def to_json(result: ReportResult) -> dict[str, Any]:
    p = result.params
    return {
        "name": result.name,
        "title": result.title,
        "params": {
            "from": p.date_from.isoformat(),
            "to": p.date_to.isoformat(),
            "stores": list(p.stores),
            "tills": list(p.tills),
            "channels": list(p.channels),
        },
        "notes": list(result.notes),
        "sections": [
            {
                "name": s.name,
                "title": s.title,
                "note": s.note,
                "money_columns": list(s.money),
                "columns": [str(c) for c in s.frame.columns],
                "rows": _records(s.frame),
            }
            for s in result.sections
        ],
    }


def _money_frame(s: Section, currency: str, locale: str = "") -> pd.DataFrame:
    """Money columns in major units as text with the right number of decimals: plain for CSV
    (1234.50, what a spreadsheet or an import reads), as the stores' locale writes it on the
    HTML page (1.234,50 in de_DE)."""
    out = s.frame.copy()
    cur = out[s.currency_column] if s.currency_column in out.columns else None
    for col in s.money:
        if col not in out.columns:
            continue
        values = out[col]
        out[col] = [
            ""
            if _missing(v)
            else format_amount(int(v), str(cur.iloc[i]) if cur is not None else currency, locale)
            for i, v in enumerate(values)
        ]
    return out


def _safe_cell(v: Any) -> Any:
    if isinstance(v, list | dict | tuple):
        return json.dumps(v, default=_json_default)
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@"):
        return "'" + v
    return v


def _csv_text(s: Section, currency: str) -> str:
    """A section as CSV; text that a spreadsheet would run as a formula is quoted with '."""
    frame = _money_frame(s, currency)
    for col in frame.columns:
        if col in s.money or pd.api.types.is_numeric_dtype(frame[col]):
            continue
        frame[col] = [_safe_cell(v) for v in frame[col]]
    return frame.to_csv(index=False)


def to_csv(result: ReportResult, section: str | None = None) -> tuple[bytes, str]:
    """One section as CSV, or (several sections, none named) a ZIP of one CSV per section.
    Returns the bytes and the format they are in ("csv" or "zip")."""
    if section is not None or len(result.sections) == 1:
        s = result.section(section) if section else result.sections[0]
        return _csv_text(s, result.currency).encode(), "csv"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for s in result.sections:
            z.writestr(f"{result.name}-{s.name}.csv", _csv_text(s, result.currency))
    return buf.getvalue(), "zip"


def _excel_format(currency: str) -> str:
    decimals = exponent(currency)
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return f'{pattern} "{currency}";-{pattern} "{currency}"'


def to_xlsx(result: ReportResult) -> bytes:
    """A workbook with a sheet per section: money as numbers in the currency's format (so sums
    work in Excel), a bold frozen header, columns sized to their contents."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    if wb.active is not None:  # a new workbook comes with one empty sheet
        wb.remove(wb.active)
    for s in result.sections:
        ws = wb.create_sheet(title=s.name[:31])
        cols = [str(c) for c in s.frame.columns]
        ws.append(cols)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        ws.freeze_panes = "A2"
        cur_col = s.currency_column if s.currency_column in cols else None
        money_at = {i for i, c in enumerate(cols) if c in s.money}
        for row in s.frame.itertuples(index=False, name=None):
            values = [_plain(v) for v in row]
            row_currency = values[cols.index(cur_col)] if cur_col else None
            currency = str(row_currency) if row_currency else result.currency
            out: list[Any] = []
            for i, v in enumerate(values):
                if i in money_at and isinstance(v, int | float):
                    out.append(v / 10 ** exponent(currency))
                else:
                    out.append(_safe_cell(v))  # never a formula from data (CSV/XLSX injection)
            ws.append(out)
            r = ws.max_row
            for i in money_at:
                ws.cell(row=r, column=i + 1).number_format = _excel_format(currency)
        for i, c in enumerate(cols, start=1):
            width = max([len(c), *(len(str(v)) for v in s.frame[c].head(200))]) + 2
            ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width = min(width, 60)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def chart_svg(s: Section, currency: str) -> str:
    """The section's chart as an inline SVG drawn with matplotlib ("" without a chart)."""
    if s.chart is None or s.frame.empty:
        return ""
    import logging

    import matplotlib

    logging.getLogger("matplotlib").setLevel(logging.WARNING)  # its category notes are noise
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    c = s.chart
    data = s.frame[[c.x, c.y]].dropna()
    ys = data[c.y].astype(float) / (10 ** exponent(currency) if c.money else 1)
    xs = [str(v) for v in data[c.x]]
    fig, ax = plt.subplots(figsize=(7, 3.2), dpi=96)
    try:
        if c.kind == "pie":
            ax.pie(ys.clip(lower=0), labels=xs, autopct="%1.0f%%")
            ax.axis("equal")
        elif c.kind == "line":
            ax.plot(xs, ys, marker="o")
        else:
            ax.bar(xs, ys)
        ax.set_title(c.title)
        if c.kind != "pie":
            ax.set_ylabel(currency if c.money else c.y)
            ax.tick_params(axis="x", labelrotation=45 if len(xs) > 8 else 0)
        fig.tight_layout()
        buf = io.StringIO()
        fig.savefig(buf, format="svg")
    finally:
        plt.close(fig)
    svg = buf.getvalue()
    return svg[svg.find("<svg") :]


_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}
table{border-collapse:collapse;font-size:.85rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}
td.money{text-align:right;font-variant-numeric:tabular-nums}
th{background:#f3f3f3}.note{color:#555}
"""


def to_html(result: ReportResult) -> bytes:
    """A self-contained page: the parameters, then each section's chart and table."""
    p = result.params
    e = html.escape
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{e(result.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{e(result.title)}</h1>",
        f"<p class='note'>{p.date_from} to {p.date_to}"
        + (f" · stores {e(', '.join(p.stores))}" if p.stores else " · all stores")
        + (f" · tills {e(', '.join(p.tills))}" if p.tills else "")
        + (f" · channels {e(', '.join(p.channels))}" if p.channels else "")
        + "</p>",
        *(f"<p class='note'>{e(n)}</p>" for n in result.notes),
    ]
    for s in result.sections:
        parts.append(f"<h2 id='{e(s.name)}'>{e(s.title)}</h2>")
        if s.note:
            parts.append(f"<p class='note'>{e(s.note)}</p>")
        parts.append(chart_svg(s, result.currency))
        shown = _money_frame(s, result.currency, result.locale)
        cols = [str(c) for c in shown.columns]
        parts.append("<table><thead><tr>")
        parts += [f"<th>{e(c)}</th>" for c in cols]
        parts.append("</tr></thead><tbody>")
        for row in shown.itertuples(index=False, name=None):
            cells = []
            for c, v in zip(cols, row, strict=True):
                text = "" if _plain(v) is None else str(_plain(v))
                if c.endswith("_link") and text.startswith("http"):
                    cells.append(f"<td><a href='{e(text)}'>workflow</a></td>")
                else:
                    cls = " class='money'" if c in s.money else ""
                    cells.append(f"<td{cls}>{e(text)}</td>")
            parts.append("<tr>" + "".join(cells) + "</tr>")
        parts.append("</tbody></table>")
        if shown.empty:
            parts.append("<p class='note'>Nothing in this range.</p>")
    parts.append("</body></html>")
    return "".join(parts).encode()


def render(result: ReportResult, fmt: Format, section: str | None = None) -> tuple[bytes, str]:
    """The report in `fmt`; returns the bytes and their media type key (csv may become zip)."""
    if fmt == "json":
        return json.dumps(to_json(result), default=_json_default).encode(), "json"
    if fmt == "csv":
        return to_csv(result, section)
    if fmt == "xlsx":
        return to_xlsx(result), "xlsx"
    return to_html(result), "html"
