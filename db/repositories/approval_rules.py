"""A store's approval table (domain/approvals.py): its own rows over the defaults."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from db.models_approvals import StorePermission
from domain.approvals import Rule, rules_with


def rules_for(
    session: Session, location_id: int, defaults: Mapping[str, Rule] | None = None
) -> dict[str, Rule]:
    """Every action's rule at the store (the defaults where it keeps no row of its own)."""
    rows = session.scalars(
        select(StorePermission).where(StorePermission.location_id == location_id)
    )
    own = {r.action: Rule(r.action, r.approval, r.cashier_limit) for r in rows}
    return rules_with(own, defaults)


def rule_for(
    session: Session, location_id: int, action: str, defaults: Mapping[str, Rule] | None = None
) -> Rule:
    return rules_for(session, location_id, defaults)[action]


def own_actions(session: Session, location_id: int) -> set[str]:
    """The actions where the store differs from the defaults."""
    return set(
        session.scalars(
            select(StorePermission.action).where(StorePermission.location_id == location_id)
        )
    )


def set_rule(session: Session, location_id: int, rule: Rule, by: int | None) -> None:
    values = {"approval": rule.approval, "cashier_limit": rule.cashier_limit, "updated_by": by}
    session.execute(
        insert(StorePermission)
        .values(location_id=location_id, action=rule.action, **values)
        .on_conflict_do_update(index_elements=["location_id", "action"], set_=values)
    )


def reset_rule(session: Session, location_id: int, action: str) -> None:
    """Back to the default for this action."""
    session.execute(
        delete(StorePermission).where(
            StorePermission.location_id == location_id, StorePermission.action == action
        )
    )
