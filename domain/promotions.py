"""The promotions engine: one pure function prices a basket's promotions the same way at the till,
offline, in the Sale workflow and on the storefront.

Rule types (`kind`): `percent_off` and `amount_off` (products / categories, or the basket),
`buy_x_get_y` (the cheapest qualifying units free or discounted, with a limit), `bundle` (a fixed
price for a set), `tiered` (spend or quantity thresholds). Scope: channels, customer groups, a
date-time window and weekly hours in the location's timezone, a coupon; budgets come in as what
is "remaining" (the engine never counts; db/repositories/promotions.py reserves).

Stacking (after Shopify's "combines with" discount classes and Saleor's catalogue-vs-order
promotions). Every promotion has a combination class, fixed by its rule:
- "product": a rule on products or categories (percent / amount off items, buy X get Y, bundles,
  tiered on items). It is worked out on the catalogue price and claims the units it discounts: a
  unit gets at most one product-class promotion.
- "order": a rule on the basket (percent / amount off the basket, tiered on the basket). It is
  worked out on what the product-class promotions leave and shared over the lines in proportion
  to what is left of each (largest remainder, so the cents add up exactly).
Each promotion lists the classes it `combines_with`; two promotions apply together only when each
combines with the other's class (an empty list: exclusive). The engine takes the promotions in a
fixed order, highest `priority` first, then by code, and keeps each one that is in scope, has
budget left, combines with every one kept before it and gives something; so the same input always
gives the same output, whatever the order of the list. It explains itself: per line, which
promotion took what; per promotion why it was left out; per coupon entered why it was refused.

Manual discounts (domain/discounts.py) come AFTER promotions: `price_inputs` gives the basket's
PriceInputs (domain/pricing.py) with each line's `discount` = promotions + the cashier's
adjustments, the adjustments taken off what the promotions leave. Gift-card lines are never
discounted. Integer minor units only; nothing ever goes below zero.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.discounts import Adjustment, Applied, apply_adjustments
from domain.errors import InvalidRequest
from domain.money import round_half_up
from domain.pricing import GIFT_CARD_SKU, PriceInput

ENGINE_VERSION = 1  # bump when a rule's arithmetic changes; a sale pins the version it priced with

Kind = Literal["percent_off", "amount_off", "buy_x_get_y", "bundle", "tiered"]
CombinationClass = Literal["product", "order"]
KINDS: tuple[str, ...] = ("percent_off", "amount_off", "buy_x_get_y", "bundle", "tiered")
CLASSES: tuple[str, ...] = ("product", "order")
CHANNELS: tuple[str, ...] = ("store", "web")  # the till (online and offline) and the storefront
MAX_TIERS = 20
MAX_COMPONENTS = 20
MAX_APPLICATIONS = 1000  # a buy X get Y or bundle applies at most this often in one basket
BAD = "bad_promotion"

SkipReason = Literal[
    "inactive",
    "wrong_currency",
    "out_of_channel",
    "not_for_customer",
    "outside_window",
    "needs_coupon",
    "budget_spent",
    "not_combinable",
    "no_effect",
]
CouponReason = Literal[
    "unknown",
    "inactive",
    "used",
    "customer_limit",
    "needs_customer",
    "duplicate",
    "promotion_inactive",
    SkipReason,
]


# ---- rules ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Target:
    """Which lines a rule looks at: the whole basket, or lines by SKU or category."""

    basket: bool = False
    skus: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()

    def matches(self, line: BasketLine) -> bool:
        return self.basket or line.sku in self.skus or line.category in self.categories


@dataclass(frozen=True, kw_only=True)
class PercentOff:
    target: Target
    percent_bp: int  # 1..10000 basis points


@dataclass(frozen=True, kw_only=True)
class AmountOff:
    target: Target
    amount: int  # minor units: off each unit for items, off the basket once for the basket


@dataclass(frozen=True, kw_only=True)
class BuyXGetY:
    buy: Target
    buy_quantity: int
    get: Target
    get_quantity: int
    percent_bp: int = 10_000  # off each "get" unit (10000: free)
    max_applications: int | None = None


@dataclass(frozen=True, kw_only=True)
class Component:
    target: Target
    quantity: int


@dataclass(frozen=True, kw_only=True)
class Bundle:
    components: tuple[Component, ...]
    price: int  # minor units for one whole set
    max_applications: int | None = None


@dataclass(frozen=True, kw_only=True)
class Tier:
    threshold: int  # minor units of spend, or a number of units
    percent_bp: int | None = None
    amount: int | None = None


@dataclass(frozen=True, kw_only=True)
class Tiered:
    target: Target
    measure: Literal["spend", "quantity"]
    tiers: tuple[Tier, ...]  # the highest threshold reached applies


Rule = PercentOff | AmountOff | BuyXGetY | Bundle | Tiered


@dataclass(frozen=True, kw_only=True)
class Window:
    """Weekly hours in the location's timezone: days 0 (Monday) to 6, [start, end)."""

    days: frozenset[int]
    start: time
    end: time


@dataclass(frozen=True, kw_only=True)
class Promotion:
    """One promotion as the engine sees it (db/repositories/promotions.py builds these)."""

    code: str
    name: str
    kind: Kind
    rule: Rule
    priority: int = 0
    combines_with: frozenset[str] = frozenset()  # classes it stacks with; empty: exclusive
    channels: frozenset[str] = frozenset()  # empty: every channel
    customer_groups: frozenset[str] = frozenset()  # empty: everyone, else one of these
    starts_at: datetime | None = None  # naive: wall-clock time in the location's timezone
    ends_at: datetime | None = None
    windows: tuple[Window, ...] = ()
    requires_coupon: bool = False
    currency: str | None = None  # the currency of the rule's amounts (None: percentages only)
    active: bool = True
    version: int = 1
    remaining_amount: int | None = None  # budget of discount left, minor units (None: no limit)
    remaining_uses: int | None = None  # sales it may still apply to (None: no limit)

    @property
    def combination_class(self) -> CombinationClass:
        return combination_class(self.rule)


@dataclass(frozen=True, kw_only=True)
class CouponState:
    """A coupon and how often it was used so far (the engine never counts)."""

    code: str
    promotion_code: str
    multi_use: bool = False
    per_customer_limit: int | None = None
    uses: int = 0
    customer_uses: int = 0  # by the customer of this basket
    active: bool = True


# ---- input and output -----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class BasketLine:
    line_no: int
    sku: str
    category: str
    quantity: int
    unit_price: int  # minor units (gross where the store shows inclusive prices)
    tax_code: str = ""
    name: str = ""

    @property
    def extended(self) -> int:
        return self.unit_price * self.quantity


@dataclass(frozen=True, kw_only=True)
class Basket:
    lines: tuple[BasketLine, ...]
    currency: str
    channel: str
    at: datetime  # aware
    timezone: str  # the location's, e.g. "Europe/Berlin"
    customer_groups: frozenset[str] = frozenset()
    has_customer: bool = False
    coupon_codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class LineDiscount:
    promotion_code: str
    amount: int


@dataclass(frozen=True)
class LineResult:
    line_no: int
    sku: str
    extended: int
    discount: int
    by_promotion: tuple[LineDiscount, ...]


@dataclass(frozen=True)
class AppliedPromotion:
    code: str
    name: str
    combination_class: str
    amount: int
    version: int
    coupon: str | None
    lines: tuple[int, ...]


@dataclass(frozen=True)
class Skipped:
    code: str
    reason: str


@dataclass(frozen=True)
class CouponRefusal:
    code: str
    reason: str
    message: str


@dataclass(frozen=True)
class PromotionResult:
    engine_version: int
    lines: tuple[LineResult, ...]
    applied: tuple[AppliedPromotion, ...]
    skipped: tuple[Skipped, ...]
    coupons_used: tuple[str, ...]
    coupons_refused: tuple[CouponRefusal, ...]
    total_discount: int

    def discount_of(self, line_no: int) -> int:
        return next((x.discount for x in self.lines if x.line_no == line_no), 0)


# ---- rule parsing (the API's 422s) ----------------------------------------------------------


def _bad(where: str, message: str) -> InvalidRequest:
    return InvalidRequest(f"{where}: {message}", code=BAD)


def _int(raw: Mapping[str, Any], key: str, where: str, lo: int, hi: int | None = None) -> int:
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(where, f"'{key}' must be a whole number.")
    if value < lo or (hi is not None and value > hi):
        span = f"{lo} to {hi}" if hi is not None else f"at least {lo}"
        raise _bad(where, f"'{key}' must be {span}, not {value}.")
    return value


def _opt_int(raw: Mapping[str, Any], key: str, where: str, lo: int) -> int | None:
    return None if raw.get(key) is None else _int(raw, key, where, lo)


def _strings(raw: Mapping[str, Any], key: str, where: str) -> frozenset[str]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(x, str) and x.strip() for x in value):
        raise _bad(where, f"'{key}' must be a list of non-empty strings.")
    if len(value) > 500:
        raise _bad(where, f"'{key}' lists at most 500.")
    return frozenset(x.strip() for x in value)


def _target(raw: Any, where: str, *, basket_ok: bool = True) -> Target:
    if raw == "basket" and basket_ok:
        return Target(basket=True)
    if not isinstance(raw, dict):
        hint = '"basket" or ' if basket_ok else ""
        raise _bad(where, f'the target is {hint}{{"skus": [...], "categories": [...]}}.')
    unknown = set(raw) - {"skus", "categories"}
    if unknown:
        raise _bad(where, f"unknown target field(s) {', '.join(sorted(unknown))}.")
    target = Target(
        skus=_strings(raw, "skus", where), categories=_strings(raw, "categories", where)
    )
    if not target.skus and not target.categories:
        raise _bad(where, "the target names no SKU and no category.")
    return target


def _known(raw: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(raw) - allowed
    if unknown:
        raise _bad(where, f"unknown field(s) {', '.join(sorted(unknown))}.")


def parse_rule(kind: str, raw: Any) -> Rule:
    """The rule of a promotion from its JSON; every problem is an InvalidRequest (422)."""
    where = f"The {kind} rule"
    if kind not in KINDS:
        raise InvalidRequest(
            f"'{kind}' is not a promotion kind; use one of {', '.join(KINDS)}.", code=BAD
        )
    if not isinstance(raw, dict):
        raise _bad(where, "the rule is a JSON object.")
    if kind == "percent_off":
        _known(raw, {"target", "percent_bp"}, where)
        return PercentOff(
            target=_target(raw.get("target"), where),
            percent_bp=_int(raw, "percent_bp", where, 1, 10_000),
        )
    if kind == "amount_off":
        _known(raw, {"target", "amount"}, where)
        return AmountOff(
            target=_target(raw.get("target"), where), amount=_int(raw, "amount", where, 1)
        )
    if kind == "buy_x_get_y":
        _known(
            raw,
            {"buy", "buy_quantity", "get", "get_quantity", "percent_bp", "max_applications"},
            where,
        )
        return BuyXGetY(
            buy=_target(raw.get("buy"), f"{where} (buy)", basket_ok=False),
            buy_quantity=_int(raw, "buy_quantity", where, 1, 1000),
            get=_target(raw.get("get"), f"{where} (get)", basket_ok=False),
            get_quantity=_int(raw, "get_quantity", where, 1, 1000),
            percent_bp=10_000
            if raw.get("percent_bp") is None
            else _int(raw, "percent_bp", where, 1, 10_000),
            max_applications=_opt_int(raw, "max_applications", where, 1),
        )
    if kind == "bundle":
        _known(raw, {"components", "price", "max_applications"}, where)
        comps = raw.get("components")
        if not isinstance(comps, list) or not 1 <= len(comps) <= MAX_COMPONENTS:
            raise _bad(where, f"'components' is a list of 1 to {MAX_COMPONENTS} parts.")
        parts = []
        for n, c in enumerate(comps):
            w = f"{where}, component {n + 1}"
            if not isinstance(c, dict):
                raise _bad(w, 'a component is {"target": {...}, "quantity": n}.')
            _known(c, {"target", "quantity"}, w)
            parts.append(
                Component(
                    target=_target(c.get("target"), w, basket_ok=False),
                    quantity=_int(c, "quantity", w, 1, 1000),
                )
            )
        return Bundle(
            components=tuple(parts),
            price=_int(raw, "price", where, 0),
            max_applications=_opt_int(raw, "max_applications", where, 1),
        )
    _known(raw, {"target", "measure", "tiers"}, where)
    measure = raw.get("measure")
    if measure not in ("spend", "quantity"):
        raise _bad(where, '\'measure\' is "spend" or "quantity".')
    tiers_raw = raw.get("tiers")
    if not isinstance(tiers_raw, list) or not 1 <= len(tiers_raw) <= MAX_TIERS:
        raise _bad(where, f"'tiers' is a list of 1 to {MAX_TIERS} tiers.")
    tiers = []
    for n, t in enumerate(tiers_raw):
        w = f"{where}, tier {n + 1}"
        if not isinstance(t, dict):
            raise _bad(w, 'a tier is {"threshold": n, "percent_bp": n} or {..., "amount": n}.')
        _known(t, {"threshold", "percent_bp", "amount"}, w)
        if (t.get("percent_bp") is None) == (t.get("amount") is None):
            raise _bad(w, "give either 'percent_bp' or 'amount'.")
        tiers.append(
            Tier(
                threshold=_int(t, "threshold", w, 1),
                percent_bp=None
                if t.get("percent_bp") is None
                else _int(t, "percent_bp", w, 1, 10_000),
                amount=_opt_int(t, "amount", w, 1),
            )
        )
    thresholds = [t.threshold for t in tiers]
    if len(set(thresholds)) != len(thresholds):
        raise _bad(where, "two tiers have the same threshold.")
    return Tiered(
        target=_target(raw.get("target"), where),
        measure=measure,
        tiers=tuple(sorted(tiers, key=lambda t: t.threshold)),
    )


def combination_class(rule: Rule) -> CombinationClass:
    """ "order" for a rule on the basket, "product" for one on products or categories."""
    if isinstance(rule, PercentOff | AmountOff | Tiered) and rule.target.basket:
        return "order"
    return "product"


def has_amounts(rule: Rule) -> bool:
    """Whether the rule names money (then the promotion needs a currency)."""
    if isinstance(rule, AmountOff | Bundle):
        return True
    if isinstance(rule, Tiered):
        return rule.measure == "spend" or any(t.amount is not None for t in rule.tiers)
    return False


def parse_window(raw: Any) -> Window:
    """{"days": [0..6], "start": "HH:MM", "end": "HH:MM"} (local time, end after start)."""
    where = "A window"
    if not isinstance(raw, dict):
        raise _bad(where, 'is {"days": [0, ...], "start": "HH:MM", "end": "HH:MM"}.')
    _known(raw, {"days", "start", "end"}, where)
    days = raw.get("days")
    if (
        not isinstance(days, list)
        or not days
        or not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 6 for d in days)
    ):
        raise _bad(where, "'days' lists weekdays 0 (Monday) to 6 (Sunday).")
    try:
        start, end = (
            time.fromisoformat(str(raw.get("start"))),
            time.fromisoformat(str(raw.get("end"))),
        )
    except ValueError:
        raise _bad(where, "'start' and 'end' are times like \"17:00\".") from None
    if not start < end:
        raise _bad(where, "'end' must be after 'start' (split a window that crosses midnight).")
    return Window(days=frozenset(days), start=start, end=end)


def check_promotion(p: Promotion) -> None:
    """The rules a promotion obeys beyond its rule's JSON (the API's 422s)."""
    bad = set(p.combines_with) - set(CLASSES)
    if bad:
        raise InvalidRequest(
            f"combines_with names {', '.join(sorted(bad))}; use {' / '.join(CLASSES)}.", code=BAD
        )
    bad = set(p.channels) - set(CHANNELS)
    if bad:
        raise InvalidRequest(
            f"channels names {', '.join(sorted(bad))}; use {' / '.join(CHANNELS)} (Shopify and "
            "WooCommerce orders arrive priced by the web store).",
            code=BAD,
        )
    if has_amounts(p.rule) and not p.currency:
        raise InvalidRequest("A rule with amounts needs the promotion's currency.", code=BAD)
    if p.starts_at and p.ends_at and not p.starts_at < p.ends_at:
        raise InvalidRequest("ends_at must be after starts_at.", code=BAD)


# ---- arithmetic -----------------------------------------------------------------------------


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """`total` shared in proportion to `weights` (largest remainder, ties to the first), each
    share at most its weight when total <= sum(weights)."""
    base = sum(weights)
    if base <= 0 or total <= 0:
        return [0] * len(weights)
    shares = [total * w // base for w in weights]
    order = sorted(range(len(weights)), key=lambda i: (-((total * weights[i]) % base), i))
    for i in order[: total - sum(shares)]:
        shares[i] += 1
    return shares


def _pct(amount: int, bp: int) -> int:
    return round_half_up(Decimal(amount) * bp / 10_000)


class _State:
    """What the promotions kept so far took: claimed units and discounts per line."""

    def __init__(self, lines: Sequence[BasketLine]) -> None:
        self.lines = {x.line_no: x for x in lines}
        self.claimed = {x.line_no: 0 for x in lines}
        self.off: dict[int, dict[str, int]] = {x.line_no: {} for x in lines}

    def free(self, line_no: int) -> int:
        return self.lines[line_no].quantity - self.claimed[line_no]

    def left(self, line_no: int) -> int:
        return self.lines[line_no].extended - sum(self.off[line_no].values())


class _Pool:
    """The unclaimed units of the basket grouped per line, dearest first (ties by line): the
    unit-by-unit rules (buy X get Y, bundles) take from it one application at a time."""

    def __init__(self, state: _State, lines: Sequence[BasketLine]) -> None:
        self.lines = state.lines
        groups = [(x.unit_price, x.line_no, state.free(x.line_no)) for x in lines]
        self.groups = sorted((g for g in groups if g[2]), key=lambda g: (-g[0], g[1]))
        self.count = {g[1]: g[2] for g in self.groups}

    def take(self, target: Target, n: int, *, cheapest: bool) -> dict[int, int] | None:
        """n units the target matches (cheapest or dearest first), per line; None (nothing
        taken) when there are fewer."""
        taken: dict[int, int] = {}
        need = n
        for _, line_no, _ in reversed(self.groups) if cheapest else self.groups:
            if not need:
                break
            have = self.count[line_no]
            if have and target.matches(self.lines[line_no]):
                k = min(have, need)
                taken[line_no] = k
                need -= k
        if need:
            return None
        for line_no, k in taken.items():
            self.count[line_no] -= k
        return taken

    def give_back(self, taken: dict[int, int]) -> None:
        for line_no, k in taken.items():
            self.count[line_no] += k


def _merge(into: dict[int, int], more: dict[int, int]) -> None:
    for k, v in more.items():
        into[k] = into.get(k, 0) + v


def _product(
    rule: Rule, state: _State, lines: Sequence[BasketLine]
) -> tuple[dict[int, int], dict[int, int]]:
    """A product-class rule's discount per line and the units it claims per line."""
    off: dict[int, int] = {}
    claim: dict[int, int] = {}
    if isinstance(rule, PercentOff | AmountOff):
        for x in lines:
            f = state.free(x.line_no)
            if f and rule.target.matches(x):
                if isinstance(rule, PercentOff):
                    off[x.line_no] = _pct(x.unit_price * f, rule.percent_bp)
                else:
                    off[x.line_no] = min(rule.amount, x.unit_price) * f
                claim[x.line_no] = f
    elif isinstance(rule, BuyXGetY):
        pool = _Pool(state, lines)
        done = 0
        while done < min(rule.max_applications or MAX_APPLICATIONS, MAX_APPLICATIONS):
            gets = pool.take(rule.get, rule.get_quantity, cheapest=True)
            if gets is None:
                break
            buys = pool.take(rule.buy, rule.buy_quantity, cheapest=False)
            if buys is None:
                pool.give_back(gets)
                break
            for line_no, k in gets.items():
                off[line_no] = (
                    off.get(line_no, 0) + _pct(state.lines[line_no].unit_price, rule.percent_bp) * k
                )
            _merge(claim, gets)
            _merge(claim, buys)
            done += 1
    elif isinstance(rule, Bundle):
        pool = _Pool(state, lines)
        done = 0
        while done < min(rule.max_applications or MAX_APPLICATIONS, MAX_APPLICATIONS):
            taken: dict[int, int] = {}
            complete = True
            for comp in rule.components:
                picks = pool.take(comp.target, comp.quantity, cheapest=False)
                if picks is None:
                    complete = False
                    break
                _merge(taken, picks)  # held by the pool, so the next component sees them gone
            full = sum(state.lines[k].unit_price * n for k, n in taken.items())
            if not complete or full <= rule.price:
                pool.give_back(taken)
                break
            keys = sorted(taken)
            weights = [state.lines[k].unit_price * taken[k] for k in keys]
            for k, share in zip(keys, allocate(full - rule.price, weights), strict=True):
                off[k] = off.get(k, 0) + share
            _merge(claim, taken)
            done += 1
    elif isinstance(rule, Tiered):
        matched = [x for x in lines if state.free(x.line_no) and rule.target.matches(x)]
        weights = [x.unit_price * state.free(x.line_no) for x in matched]
        measure = (
            sum(weights) if rule.measure == "spend" else sum(state.free(x.line_no) for x in matched)
        )
        total = _tier_amount(rule, measure, sum(weights))
        if total:
            for x, share in zip(matched, allocate(total, weights), strict=True):
                off[x.line_no] = share
                claim[x.line_no] = state.free(x.line_no)
    return off, claim


def _tier_amount(rule: Tiered, measure: int, base: int) -> int:
    reached = [t for t in rule.tiers if measure >= t.threshold]
    if not reached or base <= 0:
        return 0
    tier = reached[-1]
    amount = _pct(base, tier.percent_bp) if tier.percent_bp is not None else tier.amount or 0
    return min(amount, base)


def _order(rule: Rule, state: _State, lines: Sequence[BasketLine]) -> dict[int, int]:
    """An order-class rule's discount, shared over what is left of each line."""
    left = [state.left(x.line_no) for x in lines]
    base = sum(left)
    if base <= 0:
        return {}
    if isinstance(rule, PercentOff):
        total = _pct(base, rule.percent_bp)
    elif isinstance(rule, AmountOff):
        total = min(rule.amount, base)
    elif isinstance(rule, Tiered):
        measure = base if rule.measure == "spend" else sum(x.quantity for x in lines)
        total = _tier_amount(rule, measure, base)
    else:  # pragma: no cover - bundles and buy X get Y are product-class
        return {}
    return {x.line_no: s for x, s in zip(lines, allocate(total, left), strict=True) if s}


def _cap(off: dict[int, int], cap: int | None) -> dict[int, int]:
    """At most `cap` in all (a budget's remainder), shared as the amounts were."""
    total = sum(off.values())
    if cap is None or total <= cap:
        return off
    keys = sorted(off)
    return {k: s for k, s in zip(keys, allocate(cap, [off[k] for k in keys]), strict=True) if s}


# ---- the engine -----------------------------------------------------------------------------


def _local(at: datetime, timezone: str) -> datetime:
    if at.tzinfo is None:
        raise InvalidRequest("The basket's time must carry a timezone.", code=BAD)
    try:
        return at.astimezone(ZoneInfo(timezone)).replace(tzinfo=None)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidRequest(f"'{timezone}' is not a timezone.", code=BAD) from None


def _in_time(p: Promotion, local: datetime) -> bool:
    if p.starts_at and local < p.starts_at or p.ends_at and local >= p.ends_at:
        return False
    if not p.windows:
        return True
    now = local.time()
    return any(local.weekday() in w.days and w.start <= now < w.end for w in p.windows)


def _scope_reason(p: Promotion, basket: Basket, local: datetime) -> SkipReason | None:
    if not p.active:
        return "inactive"
    if p.currency and p.currency != basket.currency and has_amounts(p.rule):
        return "wrong_currency"
    if p.channels and basket.channel not in p.channels:
        return "out_of_channel"
    if p.customer_groups and not p.customer_groups & basket.customer_groups:
        return "not_for_customer"
    if not _in_time(p, local):
        return "outside_window"
    if p.remaining_uses is not None and p.remaining_uses <= 0:
        return "budget_spent"
    if p.remaining_amount is not None and p.remaining_amount <= 0:
        return "budget_spent"
    return None


_COUPON_TEXT = {
    "unknown": "There is no such coupon.",
    "inactive": "This coupon is switched off.",
    "used": "This single-use coupon has been used.",
    "customer_limit": "This customer has used this coupon as often as allowed.",
    "needs_customer": "This coupon is limited per customer: attach the customer first.",
    "duplicate": "This coupon, or another for the same promotion, is entered already.",
    "promotion_inactive": "Its promotion is switched off.",
    "wrong_currency": "Its promotion is in another currency.",
    "out_of_channel": "Its promotion does not run on this channel.",
    "not_for_customer": "Its promotion is for another customer group.",
    "outside_window": "Its promotion does not run at this time.",
    "budget_spent": "Its promotion's budget is spent.",
    "not_combinable": "Its promotion does not combine with a promotion already applied.",
    "no_effect": "Nothing in the basket qualifies for its promotion.",
    "needs_coupon": "Its promotion needs a coupon.",
}


def normalise_code(code: str) -> str:
    return code.strip().upper()


def _check_basket(basket: Basket) -> None:
    seen: set[int] = set()
    for x in basket.lines:
        if x.line_no in seen:
            raise InvalidRequest(f"Line {x.line_no} is in the basket twice.", code=BAD)
        seen.add(x.line_no)
        if x.quantity < 1 or x.unit_price < 0:
            raise InvalidRequest(
                f"Line {x.line_no} ({x.sku}): the quantity must be at least 1 and the price not "
                "negative.",
                code=BAD,
            )


def evaluate(
    basket: Basket, promotions: Sequence[Promotion], coupons: Sequence[CouponState] = ()
) -> PromotionResult:
    """The promotions a basket gets, per line and per promotion, with every refusal explained.

    Deterministic: the promotions are taken highest priority first, then by code; the order of
    `promotions` and `coupons` does not matter."""
    _check_basket(basket)
    local = _local(basket.at, basket.timezone)
    lines = tuple(
        sorted((x for x in basket.lines if x.sku != GIFT_CARD_SKU), key=lambda x: x.line_no)
    )
    by_code = {c.code: c for c in sorted(coupons, key=lambda c: c.code)}
    promos = {p.code: p for p in sorted(promotions, key=lambda p: (p.code, p.version))}

    refused: list[CouponRefusal] = []
    chosen: dict[str, str] = {}  # promotion code -> the coupon entered for it

    def refuse(code: str, reason: str) -> None:
        refused.append(CouponRefusal(code, reason, _COUPON_TEXT.get(reason, reason)))

    seen: set[str] = set()
    for raw in basket.coupon_codes:
        code = normalise_code(raw)
        if code in seen:
            refuse(code, "duplicate")
            continue
        seen.add(code)
        c = by_code.get(code)
        if c is None or c.promotion_code not in promos:
            refuse(code, "unknown")
        elif not c.active:
            refuse(code, "inactive")
        elif not c.multi_use and c.uses >= 1:
            refuse(code, "used")
        elif c.per_customer_limit is not None and not basket.has_customer:
            refuse(code, "needs_customer")
        elif c.per_customer_limit is not None and c.customer_uses >= c.per_customer_limit:
            refuse(code, "customer_limit")
        elif c.promotion_code in chosen:
            refuse(code, "duplicate")
        else:
            chosen[c.promotion_code] = code

    state = _State(lines)
    kept: list[Promotion] = []
    skipped: list[Skipped] = []
    order_kept: list[Promotion] = []
    amounts: dict[str, dict[int, int]] = {}
    for p in sorted(promos.values(), key=lambda p: (-p.priority, p.code)):
        reason = _scope_reason(p, basket, local)
        if reason is None and p.requires_coupon and p.code not in chosen:
            reason = "needs_coupon"
        if reason is None and not all(
            q.combination_class in p.combines_with and p.combination_class in q.combines_with
            for q in kept
        ):
            reason = "not_combinable"
        if reason is None and p.combination_class == "product":
            off, claim = _product(p.rule, state, lines)
            off = {k: v for k, v in _cap(off, p.remaining_amount).items() if v}
            if not off:
                reason = "no_effect"
            else:
                for k, v in off.items():
                    state.off[k][p.code] = v
                for k, n in claim.items():
                    state.claimed[k] += n
                amounts[p.code] = off
        elif reason is None:
            # Order-class: worked out below on what every product-class promotion leaves; a
            # basket that gives it nothing at all is not kept (so it blocks nothing).
            trial = _order(p.rule, state, lines)
            if not trial:
                reason = "no_effect"
            else:
                order_kept.append(p)
        if reason is None:
            kept.append(p)
        elif p.requires_coupon and p.code not in chosen and reason == "needs_coupon":
            continue  # a coupon-only promotion nobody entered a coupon for: not news
        else:
            skipped.append(Skipped(p.code, reason))
    for p in order_kept:
        off = {k: v for k, v in _cap(_order(p.rule, state, lines), p.remaining_amount).items() if v}
        if not off:  # the product-class promotions kept after it left nothing
            kept.remove(p)
            skipped.append(Skipped(p.code, "no_effect"))
            continue
        for k, v in off.items():
            state.off[k][p.code] = v
        amounts[p.code] = off

    kept_codes = {p.code for p in kept}
    why = {s.code: s.reason for s in skipped}
    for promo_code, coupon in sorted(chosen.items(), key=lambda kv: kv[1]):
        if promo_code not in kept_codes:
            why_not = why.get(promo_code, "no_effect")
            refuse(coupon, "promotion_inactive" if why_not == "inactive" else why_not)
    refused.sort(key=lambda r: (r.code, r.reason))

    results = tuple(
        LineResult(
            line_no=x.line_no,
            sku=x.sku,
            extended=x.extended,
            discount=sum(state.off[x.line_no].values()) if x.line_no in state.off else 0,
            by_promotion=tuple(
                LineDiscount(code, amount)
                for code, amount in sorted(state.off.get(x.line_no, {}).items())
            ),
        )
        for x in sorted(basket.lines, key=lambda x: x.line_no)
    )
    applied = tuple(
        AppliedPromotion(
            code=p.code,
            name=p.name,
            combination_class=p.combination_class,
            amount=sum(amounts[p.code].values()),
            version=p.version,
            coupon=chosen.get(p.code),
            lines=tuple(sorted(amounts[p.code])),
        )
        for p in sorted(kept, key=lambda p: (-p.priority, p.code))
    )
    return PromotionResult(
        engine_version=ENGINE_VERSION,
        lines=results,
        applied=applied,
        skipped=tuple(sorted(skipped, key=lambda s: s.code)),
        coupons_used=tuple(sorted(a.coupon for a in applied if a.coupon)),
        coupons_refused=tuple(refused),
        total_discount=sum(r.discount for r in results),
    )


Engine = Callable[[Basket, Sequence[Promotion], Sequence[CouponState]], PromotionResult]

# Every version a sale in flight may have pinned. When a rule's arithmetic changes: copy
# `evaluate` as it was under its version number here, bump ENGINE_VERSION, and drop the old one
# only once no running sale or order has pinned it (docs/promotions.md, "Engine versions").
_ENGINES: dict[int, Engine] = {1: evaluate}


def engine(version: int) -> Engine:
    """The engine of the version a sale or order pinned."""
    found = _ENGINES.get(version)
    if found is None:
        raise InvalidRequest(
            f"The promotions were pinned with engine version {version}; this server has "
            f"{', '.join(str(v) for v in sorted(_ENGINES))}.",
            code="promotion_engine_version",
        )
    return found


# ---- into domain/pricing.py -----------------------------------------------------------------


def price_inputs(
    items: Sequence[PriceInput],
    result: PromotionResult,
    adjustments: Sequence[Adjustment] = (),
) -> tuple[tuple[PriceInput, ...], tuple[Applied, ...]]:
    """The basket for `price_basket` with each line's `discount` = its promotions + the cashier's
    adjustments, and the adjustments as applied. Manual adjustments come AFTER promotions: a
    percentage is of what the promotions leave, an amount may not exceed it, a price override is
    the most the line's units cost (it adds nothing when the promotions went lower), and a basket
    adjustment is shared over what is left of each line. The adjustments are checked exactly as
    domain/discounts.py checks them (same 422s)."""
    exclude = frozenset(i.line_no for i in items if i.sku == GIFT_CARD_SKU)
    apply_adjustments(items, adjustments, exclude)  # the same validation, before anything else
    promo = {i.line_no: result.discount_of(i.line_no) for i in items}
    for i in items:
        if not 0 <= promo[i.line_no] <= i.unit_price * i.quantity:
            raise InvalidRequest(
                f"Line {i.line_no}: the promotions do not fit this basket.", code=BAD
            )
    manual = {i.line_no: 0 for i in items}
    lines = {i.line_no: i for i in items}
    applied: list[Applied] = []
    for a in (x for x in adjustments if x.scope == "line"):
        item = lines[a.line or 0]
        left = item.unit_price * item.quantity - promo[item.line_no]
        if a.kind == "percent":
            amount = _pct(left, a.value)
        elif a.kind == "price":
            amount = max(0, (item.unit_price - a.value) * item.quantity - promo[item.line_no])
        elif a.value > left:
            raise InvalidRequest(
                f"Line {a.line}: {a.value} off is more than the {left} the promotions leave.",
                code="bad_adjustment",
            )
        else:
            amount = a.value
        manual[item.line_no] = amount
        share = 0 if left <= 0 else -(-amount * 10_000 // left)
        applied.append(Applied(a, amount, left, share))
    for a in (x for x in adjustments if x.scope == "basket"):
        eligible = [i for i in items if i.line_no not in exclude]
        left_each = [
            i.unit_price * i.quantity - promo[i.line_no] - manual[i.line_no] for i in eligible
        ]
        base = sum(left_each)
        if a.kind == "percent":
            amount = _pct(base, a.value)
        elif a.value > base:
            raise InvalidRequest(
                f"The basket: {a.value} off is more than the {base} the promotions leave.",
                code="bad_adjustment",
            )
        else:
            amount = a.value
        for item, share in zip(eligible, allocate(amount, left_each), strict=True):
            manual[item.line_no] += share
        applied.append(Applied(a, amount, base, 0 if base <= 0 else -(-amount * 10_000 // base)))
    priced = tuple(
        replace(i, discount=promo[i.line_no] + manual[i.line_no])
        if promo[i.line_no] + manual[i.line_no]
        else i
        for i in items
    )
    return priced, tuple(applied)


def basket_lines(
    items: Sequence[PriceInput], categories: Mapping[str, str]
) -> tuple[BasketLine, ...]:
    """The engine's lines for a basket of PriceInputs, with each SKU's category."""
    return tuple(
        BasketLine(
            line_no=i.line_no,
            sku=i.sku,
            category=categories.get(i.sku, ""),
            quantity=i.quantity,
            unit_price=i.unit_price,
            tax_code=i.tax_code,
            name=i.name,
        )
        for i in items
    )


__all__ = [
    "ENGINE_VERSION",
    "AmountOff",
    "Basket",
    "BasketLine",
    "Bundle",
    "BuyXGetY",
    "Component",
    "CouponState",
    "PercentOff",
    "Promotion",
    "PromotionResult",
    "Target",
    "Tier",
    "Tiered",
    "Window",
    "allocate",
    "basket_lines",
    "check_promotion",
    "engine",
    "evaluate",
    "parse_rule",
    "parse_window",
    "price_inputs",
]
