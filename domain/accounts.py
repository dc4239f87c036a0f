"""The accounting export's rules: the account map, and the postings of one store-day from its
totals, as one journal entry whose debits equal its credits (an unbalanced entry is refused, never
exported). Pure: figures in, lines out.

A store-day's figures are integer minor units keyed by item (`sales_net:2000` is the net revenue
at a 20 % rate, `tender:card` the card tenders of the day's sales; see ITEMS). Each line of an
entry is one account role (and tax rate where it has one), netted: debit when positive, credit
when negative.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from domain.errors import Conflict, InvalidRequest
from domain.money import round_half_up

EntryKind = Literal["day", "adjustment"]
NO_RATE = -1  # a line without a tax rate

# Every account role the postings use, with the default code and name (a chart of accounts the
# deployment overrides with TILLFLOW_ACCOUNT_MAP). A role with a rate ("sales", "vat",
# "returns", "discounts") may be mapped per rate as "sales:2000"; otherwise the role's account
# takes every rate (still one line per rate).
DEFAULT_ACCOUNT_MAP: dict[str, dict[str, str]] = {
    "cash": {"code": "1000", "name": "Cash in tills"},
    "card_clearing": {"code": "1010", "name": "Card clearing"},
    "bank": {"code": "1020", "name": "Bank"},
    "tender_suspense": {"code": "1090", "name": "Tender suspense"},
    "inventory": {"code": "1200", "name": "Inventory"},
    "gift_card_liability": {"code": "2100", "name": "Gift card liability"},
    "store_credit_liability": {"code": "2110", "name": "Store credit liability"},
    "vat": {"code": "2200", "name": "VAT payable"},
    "sales": {"code": "4000", "name": "Sales revenue"},
    "discounts": {"code": "4900", "name": "Sales discounts"},
    "returns": {"code": "4910", "name": "Sales returns"},
    "paid_in": {"code": "4990", "name": "Till paid-ins"},
    "cogs": {"code": "5000", "name": "Cost of goods sold"},
    "over_short": {"code": "6900", "name": "Cash over / short"},
    "paid_out": {"code": "6910", "name": "Till paid-outs"},
    "merchant_fees": {"code": "6920", "name": "Merchant fees"},
}
ROLES = tuple(DEFAULT_ACCOUNT_MAP)
RATED_ROLES = ("sales", "vat", "discounts", "returns")
TENDER_ROLES = {
    "cash": "cash",
    "card": "card_clearing",
    "gift_card": "gift_card_liability",
    "store_credit": "store_credit_liability",
    "other": "tender_suspense",
}
# The items a loader may report (a `:rate` suffix where noted), for the docs and the checks.
ITEMS = (
    "sales_net:rate",  # order lines' net after discounts (gift cards excluded)
    "sales_tax:rate",
    "sales_discount:rate",  # minor units off the lines (tax included)
    "gift_cards_sold",  # gift cards sold or reloaded: a liability, not revenue
    "order_total",  # the orders' totals, to be covered by tenders
    "tender:kind",  # settled tenders of the day's sales: cash | card | gift_card | store_credit
    "returns_gross:rate",  # refunded on returns (tax included), at the sold line's rate
    "refund:kind",  # what was paid back, by tender (store credit issued included)
    "cogs",  # units sold × cost price
    "cogs_returned",  # units returned to stock (restock / quarantine) × cost price
    "missing_cost",  # units sold without a cost price (not posted; noted)
    "cash_variance",  # counted − expected of the shifts closed that day
    "paid_in",
    "paid_out",
    "merchant_fees",
    "payouts",
)


@dataclass(frozen=True, kw_only=True)
class Account:
    code: str
    name: str


@dataclass(frozen=True)
class AccountMap:
    accounts: Mapping[str, Account]

    @classmethod
    def parse(cls, raw: Mapping[str, Any] | None = None) -> AccountMap:
        """The default map overlaid with `raw` ({role or role:rate: {"code", "name"}} or
        {role: "code"}); an unknown role or an empty code is refused."""
        merged: dict[str, Account] = {
            k: Account(code=v["code"], name=v["name"]) for k, v in DEFAULT_ACCOUNT_MAP.items()
        }
        for key, value in (raw or {}).items():
            role, _, rate = str(key).partition(":")
            if role not in DEFAULT_ACCOUNT_MAP or (rate and not rate.isdigit()):
                raise InvalidRequest(
                    f"The account map names '{key}'; roles are {', '.join(ROLES)} "
                    "(rated ones as role:basis_points).",
                    code="bad_account_map",
                )
            if isinstance(value, str):
                value = {"code": value, "name": merged[role].name}
            code = str(value.get("code", "")).strip()
            if not code:
                raise InvalidRequest(
                    f"The account map gives '{key}' no code.", code="bad_account_map"
                )
            merged[str(key)] = Account(code=code, name=str(value.get("name") or code))
        return cls(merged)

    def account(self, role: str, rate_bp: int = NO_RATE) -> Account:
        if rate_bp != NO_RATE and f"{role}:{rate_bp}" in self.accounts:
            return self.accounts[f"{role}:{rate_bp}"]
        return self.accounts[role]


@dataclass(frozen=True, kw_only=True)
class JournalLine:
    role: str
    rate_bp: int  # NO_RATE for lines without one
    account_code: str
    account_name: str
    debit: int
    credit: int
    memo: str

    @property
    def net(self) -> int:
        return self.debit - self.credit

    def as_dict(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "rate_bp": self.rate_bp,
            "account_code": self.account_code,
            "account_name": self.account_name,
            "debit": self.debit,
            "credit": self.credit,
            "memo": self.memo,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> JournalLine:
        return cls(
            role=str(d["role"]),
            rate_bp=int(d["rate_bp"]),
            account_code=str(d["account_code"]),
            account_name=str(d["account_name"]),
            debit=int(d["debit"]),
            credit=int(d["credit"]),
            memo=str(d["memo"]),
        )


@dataclass(frozen=True, kw_only=True)
class JournalEntry:
    """One journal entry: a store's business day, or an adjustment (dated the day it was learned)
    to an exported day (`covers`). Refuses to exist unbalanced."""

    store: str
    date: str  # YYYY-MM-DD, the day it is posted on
    covers: str  # the business day whose figures it holds (== date for a day's entry)
    kind: EntryKind
    currency: str
    lines: tuple[JournalLine, ...]

    def __post_init__(self) -> None:
        check_balanced(self.lines, f"{self.store} {self.date}")

    @property
    def ref(self) -> str:
        """A stable reference: `J-{store}-{date}` or `J-{store}-{date}-ADJ-{covers}`."""
        base = f"J-{self.store}-{self.date.replace('-', '')}"
        return base if self.kind == "day" else f"{base}-ADJ-{self.covers.replace('-', '')}"

    @property
    def narration(self) -> str:
        if self.kind == "day":
            return f"tillflow {self.store} day {self.date}"
        return f"tillflow {self.store} adjustment to {self.covers} (learned {self.date})"

    @property
    def total(self) -> int:
        return sum(ln.debit for ln in self.lines)

    def content_hash(self) -> str:
        """SHA-256 of the entry's canonical JSON: the same entry always hashes the same."""
        body = {
            "store": self.store,
            "date": self.date,
            "covers": self.covers,
            "kind": self.kind,
            "currency": self.currency,
            "lines": [ln.as_dict() for ln in self.lines],
        }
        raw = json.dumps(body, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(raw.encode()).hexdigest()


def check_balanced(lines: Iterable[JournalLine], what: str = "The entry") -> None:
    """Debits equal credits, and each line is one side, not negative; else a Conflict."""
    debit = credit = 0
    for ln in lines:
        if ln.debit < 0 or ln.credit < 0 or (ln.debit and ln.credit):
            raise Conflict(
                f"{what}: line {ln.account_code} has debit {ln.debit} and credit {ln.credit}.",
                code="unbalanced_entry",
            )
        debit += ln.debit
        credit += ln.credit
    if debit != credit:
        raise Conflict(
            f"{what} does not balance: debits {debit}, credits {credit} (minor units); "
            "it is not exported.",
            code="unbalanced_entry",
        )


def _tax_part(gross: int, rate_bp: int) -> int:
    """The tax inside a tax-inclusive amount at `rate_bp` (half up)."""
    if rate_bp <= 0:
        return 0
    return round_half_up(Decimal(gross) * rate_bp / (10_000 + rate_bp))


def _rate_label(rate_bp: int) -> str:
    return f"{Decimal(rate_bp) / 100:.2f}%"


_MEMOS = {
    "cash": "Cash taken less cash paid back",
    "card_clearing": "Card tenders to be settled by the acquirer",
    "bank": "Acquirer payouts",
    "tender_suspense": "Tenders not settled (uncaptured, declined or unmatched)",
    "inventory": "Inventory at cost",
    "gift_card_liability": "Gift cards sold less redeemed",
    "store_credit_liability": "Store credit issued less redeemed",
    "vat": "VAT",
    "sales": "Sales before discounts",
    "discounts": "Discounts given",
    "returns": "Returns",
    "paid_in": "Cash paid in",
    "cogs": "Cost of goods sold",
    "over_short": "Cash over (credit) / short (debit)",
    "paid_out": "Cash paid out",
    "merchant_fees": "Merchant fees",
}


def postings(figures: Mapping[str, int], accounts: AccountMap) -> tuple[JournalLine, ...]:
    """The lines of one store-day from its figures (see ITEMS): one netted line per account
    role and tax rate, in a fixed order (so the same figures always give the same entry)."""
    nets: dict[tuple[str, int], int] = {}

    def post(role: str, amount: int, rate: int = NO_RATE) -> None:  # + debit, − credit
        if amount:
            nets[(role, rate)] = nets.get((role, rate), 0) + amount

    tenders = returned = refunded = 0
    for item, amount in figures.items():
        name, _, suffix = item.partition(":")
        rate = int(suffix) if suffix.lstrip("-").isdigit() else NO_RATE
        if name == "sales_net":
            post("sales", -amount, rate)
        elif name == "sales_tax":
            post("vat", -amount, rate)
        elif name == "sales_discount":
            # The revenue is shown before discounts, the discount (tax excluded) beside it.
            off = amount - _tax_part(amount, rate)
            post("sales", -off, rate)
            post("discounts", off, rate)
        elif name == "gift_cards_sold":
            post("gift_card_liability", -amount)
        elif name == "tender":
            post(TENDER_ROLES.get(suffix, "tender_suspense"), amount)
            tenders += amount
        elif name == "returns_gross":
            tax = _tax_part(amount, rate)
            post("returns", amount - tax, rate)
            post("vat", tax, rate)
            returned += amount
        elif name == "refund":
            post(TENDER_ROLES.get(suffix, "tender_suspense"), -amount)
            refunded += amount
        elif name == "cogs":
            post("cogs", amount)
            post("inventory", -amount)
        elif name == "cogs_returned":
            post("inventory", amount)
            post("cogs", -amount)
        elif name == "cash_variance":
            post("cash", amount)
            post("over_short", -amount)
        elif name == "paid_in":
            post("cash", amount)
            post("paid_in", -amount)
        elif name == "paid_out":
            post("paid_out", amount)
            post("cash", -amount)
        elif name == "merchant_fees":
            post("merchant_fees", amount)
            post("card_clearing", -amount)
        elif name == "payouts":
            post("bank", amount)
            post("card_clearing", -amount)
        elif name in ("order_total", "missing_cost"):
            pass
        else:
            raise InvalidRequest(f"Unknown journal figure '{item}'.", code="bad_figure")
    # What the day's orders came to but no settled tender covers (an offline card not captured
    # yet, a decline sent to collection): tender suspense, so the entry shows it.
    post("tender_suspense", figures.get("order_total", 0) - tenders)
    # Returned but not (yet) found paid back (an exchange, a refund still pending).
    post("tender_suspense", refunded - returned)
    return _lines(nets, accounts)


def _lines(nets: Mapping[tuple[str, int], int], accounts: AccountMap) -> tuple[JournalLine, ...]:
    order = {r: i for i, r in enumerate(ROLES)}
    out = []
    for (role, rate), amount in sorted(nets.items(), key=lambda kv: (order[kv[0][0]], kv[0][1])):
        if not amount:
            continue
        acc = accounts.account(role, rate)
        memo = _MEMOS[role] + (f" {_rate_label(rate)}" if rate != NO_RATE else "")
        out.append(
            JournalLine(
                role=role,
                rate_bp=rate,
                account_code=acc.code,
                account_name=acc.name,
                debit=max(amount, 0),
                credit=max(-amount, 0),
                memo=memo,
            )
        )
    return tuple(out)


def day_entry(
    store: str, day: str, currency: str, figures: Mapping[str, int], accounts: AccountMap
) -> JournalEntry:
    """The balanced entry of one store-day (a Conflict if its figures do not balance)."""
    return JournalEntry(
        store=store,
        date=day,
        covers=day,
        kind="day",
        currency=currency,
        lines=postings(figures, accounts),
    )


def adjustment(
    store: str,
    learned: str,
    covers: str,
    currency: str,
    now: Iterable[JournalLine],
    exported: Iterable[JournalLine],
    accounts: AccountMap,
) -> JournalEntry | None:
    """The adjusting entry for `covers` posted on `learned`: what the day's lines are now less
    everything exported for it so far (its entry and earlier adjustments); None when nothing
    changed. Both sides balance, so the difference does."""
    nets: dict[tuple[str, int], int] = {}
    for ln in now:
        nets[(ln.role, ln.rate_bp)] = nets.get((ln.role, ln.rate_bp), 0) + ln.net
    for ln in exported:
        nets[(ln.role, ln.rate_bp)] = nets.get((ln.role, ln.rate_bp), 0) - ln.net
    lines = _lines(nets, accounts)
    if not lines:
        return None
    return JournalEntry(
        store=store,
        date=learned,
        covers=covers,
        kind="adjustment",
        currency=currency,
        lines=lines,
    )


def figures_by_day(
    rows: Iterable[Mapping[str, Any]],
) -> dict[tuple[int, str], dict[str, int]]:
    """Long figure rows (location_id, business_date, item, amount) by (location, YYYY-MM-DD)."""
    out: dict[tuple[int, str], dict[str, int]] = {}
    for r in rows:
        key = (int(r["location_id"]), str(r["business_date"])[:10])
        day = out.setdefault(key, {})
        day[str(r["item"])] = day.get(str(r["item"]), 0) + int(r["amount"])
    return out
