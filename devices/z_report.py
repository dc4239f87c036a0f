"""Z report layout for 42-column ESC/POS paper (the receipt's conventions)."""

from __future__ import annotations

from escpos.escpos import Escpos

from contracts.devices import ZReportDoc
from devices.receipt import (
    PAPER_COLUMNS,
    RULE,
    format_rate,
    off_printer,
    two_columns,
    wrap_hard,
)
from domain.money_format import format_amount

_LABELS = {
    "float": "Opening float",
    "sale_cash": "Cash taken",
    "change": "Change given",
    "refund_cash": "Cash refunds",
    "paid_in": "Paid in",
    "paid_out": "Paid out",
    "drop": "Drops to safe",
    "discount": "Discounts",
    "price_override": "Price overrides",
}


def z_lines(doc: ZReportDoc) -> list[str]:
    """The report as plain lines, top to bottom."""
    cur = doc.currency

    def money(v: int) -> str:  # as the store's locale writes it (1.234,50), else 1234.50
        return format_amount(v, cur, doc.locale, paper=True)

    lines = [
        *(s.center(PAPER_COLUMNS).rstrip() for s in (doc.store_name, doc.store_address) if s),
        f"Z REPORT {doc.z_number}".center(PAPER_COLUMNS).rstrip(),
        two_columns(f"Till {doc.till_code}", f"Shift {doc.shift_n}"),
        two_columns("Date", doc.business_date),
        two_columns("Opened", doc.opened_at.strftime("%Y-%m-%d %H:%M")),
        two_columns("Closed", doc.closed_at.strftime("%Y-%m-%d %H:%M")),
        two_columns("Cashiers", ", ".join(doc.cashiers)),
        RULE,
        two_columns("Sales", str(doc.sales_count)),
        two_columns("Sales total", money(doc.sales_total)),
        two_columns("Returns", str(doc.returns_count)),
        two_columns("Voids", f"{doc.voids_count}  {money(doc.voids_total)}"),
        RULE,
        two_columns("Discounted sales", str(doc.discounted_sales)),
        *(two_columns(_LABELS.get(d.kind, d.kind), money(d.amount)) for d in doc.discounts),
        two_columns("Approved by a manager", str(doc.approved_overrides)),
        RULE,
    ]
    if doc.taxes:
        lines.append(f"{'Code':<8}{'Rate':>8}{'Net':>13}{'Tax':>13}")
        for t in doc.taxes:
            lines.append(
                f"{t.code[:8]:<8}{format_rate(t.rate_bp):>8}{money(t.net):>13}{money(t.tax):>13}"
            )
        lines.append(RULE)
    lines.append("Cash movements")
    lines += [two_columns(_LABELS.get(m.kind, m.kind), money(m.amount)) for m in doc.movements]
    lines.append(two_columns("No-sale drawer opens", str(doc.no_sales)))
    lines.append(RULE)
    lines.append(f"{'Tender':<10}{'Expected':>11}{'Counted':>11}{'Var.':>10}")
    for line in doc.tenders:
        label = line.tender.replace("_", " ")[:10]
        exp, got, var = money(line.expected), money(line.counted), money(line.variance)
        lines.append(f"{label:<10}{exp:>11}{got:>11}{var:>10}")
    lines += [
        RULE,
        two_columns("VARIANCE", money(doc.variance)),
        two_columns("Left in drawer", money(doc.left_in_drawer)),
    ]
    if doc.approved_by:
        lines.append(two_columns("Approved by", doc.approved_by))
    if doc.approval_note:
        lines.append(f"Note: {doc.approval_note}"[: PAPER_COLUMNS * 3])
    if doc.fiscal_lines:  # issue 20: the closing as the TSE signed it
        lines += [RULE, f"Kassenabschluss Z-Nr. {doc.z_number}"]
        lines += [chunk for text in doc.fiscal_lines for chunk in wrap_hard(text)]
    return lines


def render_z_report(printer: Escpos, doc: ZReportDoc) -> None:
    printer.hw("INIT")
    printer.set(align="left")
    for line in z_lines(doc):
        printer.textln(line)
    printer.ln()
    printer.cut()


def z_report_bytes(doc: ZReportDoc, profile: str | None = None) -> bytes:
    """The complete ESC/POS byte stream of a Z report, rendered off-printer."""
    dummy = off_printer(profile)
    render_z_report(dummy, doc)
    return dummy.output
