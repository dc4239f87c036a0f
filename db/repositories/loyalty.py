"""Loyalty points: an account row guarded by a lock and a CHECK, and an append-only ledger (as
gift cards and store credit in balances.py).

A posting locks the account row, refuses to go below zero, and inserts a ledger row with a unique
idempotency key in the same transaction, so concurrent redemptions can never overdraw and a
retried activity posts once. Lots and their first-in first-out expiry: domain/loyalty.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, aliased

from db.models import Customer
from db.models_customers import CustomerEmail
from db.models_loyalty import LoyaltyAccount, LoyaltyEntry
from domain import customers as domain_customers
from domain import loyalty as rules
from domain.errors import DomainError, InsufficientBalance, InvalidRequest, NotFound

CREDITS = ("earn", "refund_redeem")  # and an adjust with points > 0: every credit is a lot


@dataclass(frozen=True)
class Posted:
    applied: bool  # False: this idempotency key was posted before
    points: int  # what the entry with this key moved (signed)
    balance: int


@dataclass(frozen=True)
class LoyaltyBalance:
    customer_id: int
    balance: int
    tier: str
    spend_12m: int
    next_expiry_at: datetime | None
    next_expiry_points: int


def account(
    session: Session, customer_id: int, *, lock: bool = False, create: bool = False
) -> LoyaltyAccount:
    """The customer's account (created empty with `create`); NotFound for an unknown customer."""
    if create:
        if session.get(Customer, customer_id) is None:
            raise NotFound(f"There is no customer {customer_id}.", code="unknown_customer")
        session.execute(
            insert(LoyaltyAccount).values(customer_id=customer_id).on_conflict_do_nothing()
        )
    q = select(LoyaltyAccount).where(LoyaltyAccount.customer_id == customer_id)
    found = session.scalar(q.with_for_update() if lock else q)
    if found is None:
        raise NotFound(f"Customer {customer_id} has no loyalty account.", code="no_loyalty")
    return found


def _entry(session: Session, key: str) -> LoyaltyEntry | None:
    return session.scalar(select(LoyaltyEntry).where(LoyaltyEntry.idempotency_key == key))


def _post(
    session: Session,
    acct: LoyaltyAccount,
    *,
    kind: str,
    points: int,
    key: str,
    reference: str,
    at: datetime | None,
    expiry_months: int | None = None,
    order_workflow_id: str | None = None,
    spend: int = 0,
    lot_id: int | None = None,
    reason: str = "",
    actor_user_id: int | None = None,
) -> Posted:
    """Post under the account's lock (the caller holds it): once per key, never below zero."""
    done = _entry(session, key)
    if done is not None:
        return Posted(False, done.points, acct.balance)
    if acct.balance + points < 0:
        raise InsufficientBalance(
            f"The customer has {acct.balance} points; {-points} cannot be taken.",
            code="insufficient_points",
        )
    when = at or session.scalar(select(func.now()))
    assert when is not None
    expires = rules.add_months(when, expiry_months) if points > 0 and expiry_months else None
    session.add(
        LoyaltyEntry(
            account_id=acct.id,
            kind=kind,
            points=points,
            reference=reference,
            order_workflow_id=order_workflow_id,
            spend=spend,
            expires_at=expires,
            lot_id=lot_id,
            reason=reason,
            actor_user_id=actor_user_id,
            idempotency_key=key,
            created_at=when,
        )
    )
    acct.balance += points
    acct.updated_at = when
    session.flush()
    return Posted(True, points, acct.balance)


def refresh_tier(
    session: Session, acct: LoyaltyAccount, tiers: tuple[rules.Tier, ...], now: datetime
) -> None:
    """Recount the 12-month spend from the ledger and set the tier it reaches."""
    since = rules.add_months(now, -12)
    spend = session.scalar(
        select(func.coalesce(func.sum(LoyaltyEntry.spend), 0)).where(
            LoyaltyEntry.account_id == acct.id, LoyaltyEntry.created_at > since
        )
    )
    acct.spend_12m = max(int(spend or 0), 0)
    acct.tier = rules.tier_for_spend(acct.spend_12m, tiers).name
    session.flush()


def earn_key(order_workflow_id: str) -> str:
    return f"{order_workflow_id}:loyalty:earn"


def post_earn(
    session: Session,
    customer_id: int,
    order_workflow_id: str,
    points: int,
    key: str,
    *,
    spend: int = 0,
    expiry_months: int = 12,
    tiers: tuple[rules.Tier, ...] = (rules.Tier("base", 0, 100),),
    at: datetime | None = None,
) -> Posted:
    """Points earned by an order (a lot expiring `expiry_months` later), once per key."""
    if points < 0 or spend < 0:
        raise InvalidRequest("Earned points and spend cannot be negative.", code="bad_points")
    acct = account(session, customer_id, lock=True, create=True)
    posted = _post(
        session,
        acct,
        kind="earn",
        points=points,
        key=key,
        reference=order_workflow_id,
        at=at,
        expiry_months=expiry_months,
        order_workflow_id=order_workflow_id,
        spend=spend,
    )
    if posted.applied:
        refresh_tier(session, acct, tiers, at or acct.updated_at)
    return posted


def earned_for(session: Session, order_workflow_id: str) -> LoyaltyEntry | None:
    """The earn row of an order, if it earned points."""
    return _entry(session, earn_key(order_workflow_id))


def reversed_for(session: Session, order_workflow_id: str) -> tuple[int, int]:
    """(points, spend) already taken back from an order by returns (both as positive numbers)."""
    row = session.execute(
        select(
            func.coalesce(func.sum(LoyaltyEntry.points), 0),
            func.coalesce(func.sum(LoyaltyEntry.spend), 0),
        ).where(LoyaltyEntry.order_workflow_id == order_workflow_id, LoyaltyEntry.kind == "reverse")
    ).one()
    return -int(row[0]), -int(row[1])


def post_reverse(
    session: Session,
    customer_id: int,
    return_workflow_id: str,
    order_workflow_id: str,
    points: int,
    key: str,
    *,
    spend: int = 0,
    tiers: tuple[rules.Tier, ...] = (rules.Tier("base", 0, 100),),
    at: datetime | None = None,
) -> Posted:
    """Points a return takes back from its order, once per key. Points already spent cannot be
    taken back: the reversal takes what is left (the shortfall is the retailer's)."""
    if points < 0 or spend < 0:
        raise InvalidRequest("Reversed points and spend cannot be negative.", code="bad_points")
    acct = account(session, customer_id, lock=True, create=True)
    done = _entry(session, key)
    if done is not None:
        return Posted(False, done.points, acct.balance)
    posted = _post(
        session,
        acct,
        kind="reverse",
        points=-min(points, acct.balance),
        key=key,
        reference=return_workflow_id,
        at=at,
        order_workflow_id=order_workflow_id,
        spend=-spend,
    )
    refresh_tier(session, acct, tiers, at or acct.updated_at)
    return posted


def redeem(
    session: Session,
    customer_id: int,
    points: int,
    key: str,
    *,
    reference: str = "",
    at: datetime | None = None,
) -> Posted:
    """Spend points (a tender), once per key; InsufficientBalance if the balance is short. The
    account row is locked first, so concurrent redemptions queue and none overdraws."""
    if points <= 0:
        raise InvalidRequest("Redeem at least one point.", code="bad_points")
    acct = account(session, customer_id, lock=True)
    return _post(session, acct, kind="redeem", points=-points, key=key, reference=reference, at=at)


def refund_redeem(
    session: Session, key: str, *, expiry_months: int = 12, at: datetime | None = None
) -> Posted | None:
    """Give back the points of the redemption posted with `key` (the saga's compensation), once;
    None when that redemption never happened (nothing to give back)."""
    spent = _entry(session, key)
    if spent is None or spent.kind != "redeem":
        return None
    acct = session.scalar(
        select(LoyaltyAccount).where(LoyaltyAccount.id == spent.account_id).with_for_update()
    )
    assert acct is not None
    return _post(
        session,
        acct,
        kind="refund_redeem",
        points=-spent.points,
        key=f"{key}:refund",
        reference=spent.reference,
        at=at,
        expiry_months=expiry_months,
    )


def redemption(session: Session, key: str) -> LoyaltyEntry | None:
    """The redemption posted with `key` (a points tender's key), if it was posted."""
    spent = _entry(session, key)
    return spent if spent is not None and spent.kind == "redeem" else None


def refund_points(
    session: Session,
    redeem_key: str,
    points: int,
    key: str,
    *,
    expiry_months: int = 12,
    at: datetime | None = None,
) -> Posted:
    """Give back `points` of the redemption posted with `redeem_key` (a return refunding a points
    tender), once per `key`; never more than that redemption took, counting earlier give-backs."""
    spent = redemption(session, redeem_key)
    if spent is None:
        raise NotFound("No points were redeemed with this tender.", code="no_redemption")
    acct = session.scalar(
        select(LoyaltyAccount).where(LoyaltyAccount.id == spent.account_id).with_for_update()
    )
    assert acct is not None
    back = session.scalar(
        select(func.coalesce(func.sum(LoyaltyEntry.points), 0)).where(
            LoyaltyEntry.idempotency_key.startswith(f"{redeem_key}:", autoescape=True),
            LoyaltyEntry.kind == "refund_redeem",
        )
    )
    done = _entry(session, key)
    if done is not None:
        return Posted(False, done.points, acct.balance)
    give = min(max(points, 0), -spent.points - int(back or 0))
    if give <= 0:
        return Posted(False, 0, acct.balance)
    return _post(
        session,
        acct,
        kind="refund_redeem",
        points=give,
        key=key,
        reference=spent.reference,
        at=at,
        expiry_months=expiry_months,
    )


def balance_after(session: Session, entry: LoyaltyEntry) -> int:
    """The account's balance just after `entry` was posted (the ledger up to and including it)."""
    total = session.scalar(
        select(func.coalesce(func.sum(LoyaltyEntry.points), 0)).where(
            LoyaltyEntry.account_id == entry.account_id, LoyaltyEntry.id <= entry.id
        )
    )
    return int(total or 0)


def adjust(
    session: Session,
    customer_id: int,
    points: int,
    key: str,
    *,
    reason: str,
    actor_user_id: int | None,
    expiry_months: int = 12,
    at: datetime | None = None,
) -> Posted:
    """A manager's correction (up: a lot that expires like an earn; down: never below zero)."""
    if points == 0:
        raise InvalidRequest("An adjustment moves at least one point.", code="bad_points")
    acct = account(session, customer_id, lock=True, create=True)
    return _post(
        session,
        acct,
        kind="adjust",
        points=points,
        key=key,
        reference=f"adjust:{key}",
        at=at,
        expiry_months=expiry_months,
        reason=reason,
        actor_user_id=actor_user_id,
    )


def move_on_merge(
    session: Session,
    duplicate_id: int,
    survivor_id: int,
    key: str,
    *,
    actor_user_id: int | None,
    expiry_months: int = 12,
) -> int:
    """A merge of customers moves the duplicate's points to the survivor (an adjust out and one
    in, in the caller's transaction, once per key); returns the points moved. Both accounts are
    locked in id order, so two merges cannot deadlock."""
    if (
        session.scalar(select(LoyaltyAccount.id).where(LoyaltyAccount.customer_id == duplicate_id))
        is None
    ):
        return 0
    for cid in sorted((duplicate_id, survivor_id)):
        account(session, cid, lock=True, create=True)
    done = _entry(session, f"{key}:out")
    moved = -done.points if done is not None else account(session, duplicate_id).balance
    if moved <= 0:
        return 0
    why = f"merged customer {duplicate_id} into {survivor_id}"
    adjust(session, duplicate_id, -moved, f"{key}:out", reason=why, actor_user_id=actor_user_id)
    adjust(
        session,
        survivor_id,
        moved,
        f"{key}:in",
        reason=why,
        actor_user_id=actor_user_id,
        expiry_months=expiry_months,
    )
    return moved


def _lots_and_debits(session: Session, account_id: int) -> tuple[list[rules.Lot], int, set[int]]:
    rows = session.execute(
        select(LoyaltyEntry.id, LoyaltyEntry.points, LoyaltyEntry.expires_at, LoyaltyEntry.lot_id)
        .where(LoyaltyEntry.account_id == account_id)
        .order_by(LoyaltyEntry.id)
    ).all()
    lots = [rules.Lot(i, p, e) for i, p, e, _ in rows if p > 0 and e is not None]
    debits = -sum(p for _, p, _, _ in rows if p < 0)
    closed = {lot for _, _, _, lot in rows if lot is not None}
    return lots, debits, closed


def expire_due(
    session: Session,
    now: datetime,
    *,
    tiers: tuple[rules.Tier, ...] = (rules.Tier("base", 0, 100),),
    customer_ids: list[int] | None = None,
) -> tuple[int, int]:
    """Close every lot expired by `now` (first in, first out: what is left of it goes), one
    expire row per lot, once. Returns (accounts touched, points expired)."""
    closing = aliased(LoyaltyEntry)
    q = (
        select(LoyaltyEntry.account_id)
        .outerjoin(closing, closing.lot_id == LoyaltyEntry.id)
        .where(LoyaltyEntry.expires_at <= now, closing.id.is_(None))
        .distinct()
    )
    if customer_ids is not None:
        q = q.join(LoyaltyAccount, LoyaltyAccount.id == LoyaltyEntry.account_id).where(
            LoyaltyAccount.customer_id.in_(customer_ids)
        )
    touched = expired = 0
    for account_id in sorted(session.scalars(q)):
        acct = session.scalar(
            select(LoyaltyAccount).where(LoyaltyAccount.id == account_id).with_for_update()
        )
        assert acct is not None
        lots, debits, closed = _lots_and_debits(session, account_id)
        for lot, left in rules.due_expiries(lots, debits, now):
            if lot.id in closed:
                continue
            posted = _post(
                session,
                acct,
                kind="expire",
                points=-min(left, acct.balance),
                key=f"loyalty:expire:{lot.id}",
                reference="expiry",
                at=now,
                lot_id=lot.id,
            )
            expired -= posted.points
        refresh_tier(session, acct, tiers, now)
        touched += 1
    return touched, expired


def balance(session: Session, customer_id: int) -> LoyaltyBalance:
    """The balance, tier and next expiry (an unknown customer: NotFound; no account yet: 0)."""
    if session.get(Customer, customer_id) is None:
        raise NotFound(f"There is no customer {customer_id}.", code="unknown_customer")
    acct = session.scalar(select(LoyaltyAccount).where(LoyaltyAccount.customer_id == customer_id))
    if acct is None:
        return LoyaltyBalance(customer_id, 0, "base", 0, None, 0)
    lots, debits, _ = _lots_and_debits(session, acct.id)
    nxt = rules.next_expiry(lots, debits)
    return LoyaltyBalance(
        customer_id,
        acct.balance,
        acct.tier,
        acct.spend_12m,
        nxt[0] if nxt else None,
        nxt[1] if nxt else 0,
    )


def customer_of_email(session: Session, email: str) -> int | None:
    """The customer who owns this email (a storefront shopper paying with points), if any."""
    try:
        address = domain_customers.normalize_email(email)
    except DomainError:
        return None
    owner = session.scalar(select(CustomerEmail.customer_id).where(CustomerEmail.email == address))
    if owner is None:
        owner = session.scalar(select(Customer.id).where(func.lower(Customer.email) == address))
    return owner


def balances_of(session: Session, customer_ids: list[int]) -> dict[int, int]:
    """The points balance of each of these customers (0 for one without an account)."""
    if not customer_ids:
        return {}
    rows = session.execute(
        select(LoyaltyAccount.customer_id, LoyaltyAccount.balance).where(
            LoyaltyAccount.customer_id.in_(customer_ids)
        )
    ).all()
    found = {int(c): int(b) for c, b in rows}
    return {cid: found.get(cid, 0) for cid in customer_ids}


def ledger_page(
    session: Session, customer_id: int, *, before: int | None = None, limit: int = 50
) -> list[LoyaltyEntry]:
    """The newest entries first, `limit` of them older than entry `before` (the next page)."""
    q = (
        select(LoyaltyEntry)
        .join(LoyaltyAccount, LoyaltyAccount.id == LoyaltyEntry.account_id)
        .where(LoyaltyAccount.customer_id == customer_id)
    )
    if before is not None:
        q = q.where(LoyaltyEntry.id < before)
    return list(session.scalars(q.order_by(LoyaltyEntry.id.desc()).limit(limit)))


def ledger_sum(session: Session, customer_id: int) -> int:
    """The sum of the customer's ledger: always equal to the account's balance."""
    total = session.scalar(
        select(func.coalesce(func.sum(LoyaltyEntry.points), 0))
        .join(LoyaltyAccount, LoyaltyAccount.id == LoyaltyEntry.account_id)
        .where(LoyaltyAccount.customer_id == customer_id)
    )
    return int(total or 0)
