"""Users, their locations, and API tokens (stored as SHA-256 of the token, never the token)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Connection, bindparam, delete, func, select, true, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from db.models import ApiToken, SignInGuard, User, UserLocation
from db.repositories import catalog
from db.session import core


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    display_name: str
    role: str
    location_ids: frozenset[int]
    till_id: int | None
    permissions: frozenset[str] = frozenset()  # extra rights beyond the role, e.g. "catalog"

    def may(self, permission: str) -> bool:
        """An admin may do everything; anyone else what their permissions list."""
        return self.role == "admin" or permission in self.permissions


def user_by_staff_code(session: Session, staff_code: str) -> User | None:
    return session.scalar(select(User).where(User.staff_code == staff_code, User.active))


def user_by_username(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username, User.active))


def user_location_ids(session: Session, user_id: int) -> frozenset[int]:
    rows = session.scalars(select(UserLocation.location_id).where(UserLocation.user_id == user_id))
    return frozenset(rows)


def add_token(
    session: Session, *, token_hash: str, user_id: int, till_id: int | None, expires_at: datetime
) -> None:
    session.add(
        ApiToken(token_hash=token_hash, user_id=user_id, till_id=till_id, expires_at=expires_at)
    )
    session.flush()


# Built once: every till request authenticates. The user's locations come along as an array.
_PRINCIPAL = (
    select(
        User.id,
        User.username,
        User.display_name,
        User.role,
        func.array(
            select(UserLocation.location_id)
            .where(UserLocation.user_id == User.id)
            .correlate(User)
            .scalar_subquery()
        ),
        ApiToken.till_id,
        User.permissions,
    )
    .join(User, User.id == ApiToken.user_id)
    .where(
        ApiToken.token_hash == bindparam("token_hash"),
        ApiToken.revoked_at.is_(None),
        ApiToken.expires_at > bindparam("now"),
        User.active,
    )
)


def principal_for_token(session: Session, token_hash: str, now: datetime) -> Principal | None:
    row = core(session).execute(_PRINCIPAL, {"token_hash": token_hash, "now": now}).first()
    if row is None:
        return None
    user_id, username, display, role, locations, till_id, permissions = row
    return Principal(
        user_id, username, display, role, frozenset(locations), till_id, frozenset(permissions)
    )


# The caller and the till of a till request in one round trip (every sale asks both).
_P, _T = _PRINCIPAL.subquery("p"), catalog.TILL_VIEW.subquery("t")
_PRINCIPAL_AT_TILL = select(*_P.c, *_T.c).select_from(_P.outerjoin(_T, true()))


def principal_at_till(
    session: Session | Connection, token_hash: str, now: datetime, till_code: str
) -> tuple[Principal, catalog.TillView | None] | None:
    """The token's principal (None: no such live token) and the till (None: no such active till)."""
    row = (
        core(session)
        .execute(_PRINCIPAL_AT_TILL, {"token_hash": token_hash, "now": now, "code": till_code})
        .first()
    )
    if row is None:
        return None
    user_id, username, display, role, locations, till_id, permissions = row[:7]
    till = catalog.TillView(*row[7:]) if row[7] is not None else None
    principal = Principal(
        user_id, username, display, role, frozenset(locations), till_id, frozenset(permissions)
    )
    return principal, till


def revoke_token(session: Session, token_hash: str, now: datetime) -> None:
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash))
    if token is not None and token.revoked_at is None:
        token.revoked_at = now


_DISPLAY_NAME = select(User.display_name).where(User.id == bindparam("user_id"))


def role_of(session: Session, user_id: int) -> str:
    """The user's role ("" for no such user: treated as the least trusted)."""
    return session.scalar(select(User.role).where(User.id == user_id)) or ""


def display_name(session: Session, user_id: int) -> str:
    return core(session).execute(_DISPLAY_NAME, {"user_id": user_id}).scalar() or ""


# ---- sign-in failures and lockouts ---------------------------------------------------------------

GuardKind = Literal["staff", "user"]


@dataclass(frozen=True)
class GuardState:
    failures: int
    last_failure_at: datetime | None
    locked_at: datetime | None


def hold_sign_in_guard(session: Session, kind: GuardKind, name: str) -> GuardState:
    """The failures of a staff code or username, its row created if need be and locked until the
    transaction ends: concurrent attempts at one account are decided one after the other, so no
    burst of guesses gets past the lockout."""
    session.execute(
        insert(SignInGuard).values(kind=kind, name=name, failures=0).on_conflict_do_nothing()
    )
    row = session.execute(
        select(SignInGuard.failures, SignInGuard.last_failure_at, SignInGuard.locked_at)
        .where(SignInGuard.kind == kind, SignInGuard.name == name)
        .with_for_update()
    ).one()
    return GuardState(*row)


def sign_in_guard(session: Session, kind: GuardKind, name: str) -> GuardState | None:
    row = session.execute(
        select(SignInGuard.failures, SignInGuard.last_failure_at, SignInGuard.locked_at).where(
            SignInGuard.kind == kind, SignInGuard.name == name
        )
    ).first()
    return GuardState(*row) if row else None


def set_sign_in_guard(session: Session, kind: GuardKind, name: str, state: GuardState) -> None:
    session.execute(
        update(SignInGuard)
        .where(SignInGuard.kind == kind, SignInGuard.name == name)
        .values(
            failures=state.failures,
            last_failure_at=state.last_failure_at,
            locked_at=state.locked_at,
        )
    )


def clear_sign_in_guard(session: Session, kind: GuardKind, name: str) -> GuardState | None:
    """Forget the failures and any lockout (a success, an unlock); what there was, if anything."""
    row = session.execute(
        delete(SignInGuard)
        .where(SignInGuard.kind == kind, SignInGuard.name == name)
        .returning(SignInGuard.failures, SignInGuard.last_failure_at, SignInGuard.locked_at)
    ).first()
    return GuardState(*row) if row else None


def prune_sign_in_guards(session: Session, before: datetime) -> None:
    """Rows whose last failure is older than `before` count for nothing any more (names that
    match no one stay until then)."""
    session.execute(delete(SignInGuard).where(SignInGuard.last_failure_at < before))
