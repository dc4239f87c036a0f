"""Back-office edits of staff accounts: users, their stores, PINs, passwords, deactivation."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Literal

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from db.models import ApiToken, Location, User, UserLocation
from domain.errors import Conflict, NotFound


def user_by_username(session: Session, username: str) -> User | None:
    """A user whatever their state (users.user_by_username sees active ones only)."""
    return session.scalar(select(User).where(User.username == username))


def location_codes(session: Session, user_id: int) -> list[str]:
    return list(
        session.scalars(
            select(Location.code)
            .join(UserLocation, UserLocation.location_id == Location.id)
            .where(UserLocation.user_id == user_id)
            .order_by(Location.code)
        )
    )


def location_ids_for_codes(session: Session, codes: Iterable[str]) -> dict[str, int]:
    """{code: id} of the named locations; NotFound naming every unknown code."""
    wanted = sorted(set(codes))
    found = {
        code: id_
        for code, id_ in session.execute(
            select(Location.code, Location.id).where(Location.code.in_(wanted))
        )
    }
    missing = [c for c in wanted if c not in found]
    if missing:
        raise NotFound(f"There is no location {', '.join(missing)}.")
    return found


def users(
    session: Session, *, at_locations: frozenset[int] | None = None, include_inactive: bool = True
) -> list[User]:
    """Users by username; only those working at one of `at_locations` when given."""
    query = select(User).order_by(User.username)
    if at_locations is not None:
        query = query.where(
            User.id.in_(
                select(UserLocation.user_id).where(UserLocation.location_id.in_(at_locations))
            )
        )
    if not include_inactive:
        query = query.where(User.active)
    return list(session.scalars(query))


def location_codes_of(session: Session, user_ids: Iterable[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    rows = session.execute(
        select(UserLocation.user_id, Location.code)
        .join(Location, Location.id == UserLocation.location_id)
        .where(UserLocation.user_id.in_(list(user_ids)))
        .order_by(Location.code)
    )
    for user_id, code in rows:
        out.setdefault(user_id, []).append(code)
    return out


def add_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    role: str,
    staff_code: str | None,
    permissions: list[str],
    pin_hash: str | None,
    password_hash: str | None,
    location_ids: Iterable[int],
) -> User:
    """A new user at the given locations; Conflict when the username or staff code is taken."""
    if user_by_username(session, username) is not None:
        raise Conflict(f"There is already a user {username}.", code="duplicate_username")
    if staff_code and staff_code_taken(session, staff_code):
        raise Conflict(f"Staff code {staff_code} is taken.", code="duplicate_staff_code")
    user = User(
        username=username,
        display_name=display_name,
        role=role,
        staff_code=staff_code or None,
        permissions=permissions,
        pin_hash=pin_hash,
        password_hash=password_hash,
        active=True,
    )
    session.add(user)
    session.flush()
    set_locations(session, user.id, location_ids)
    return user


def staff_code_taken(session: Session, staff_code: str, *, but: int | None = None) -> bool:
    query = select(User.id).where(User.staff_code == staff_code)
    if but is not None:
        query = query.where(User.id != but)
    return session.scalar(query) is not None


def set_locations(session: Session, user_id: int, location_ids: Iterable[int]) -> None:
    session.execute(delete(UserLocation).where(UserLocation.user_id == user_id))
    session.add_all(UserLocation(user_id=user_id, location_id=i) for i in sorted(set(location_ids)))
    session.flush()


def revoke_tokens(
    session: Session,
    user_id: int,
    now: datetime,
    *,
    only: Literal["all", "till", "backoffice"] = "all",
    but: str | None = None,
) -> int:
    """End the user's sign-ins (every one, those at tills, or those in the back office), except
    the token whose hash is `but`; how many were live."""
    query = update(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
    if only == "till":
        query = query.where(ApiToken.till_id.is_not(None))
    elif only == "backoffice":
        query = query.where(ApiToken.till_id.is_(None))
    if but is not None:
        query = query.where(ApiToken.token_hash != but)
    result = session.execute(query.values(revoked_at=now))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]  # CursorResult of an UPDATE


def active_admins(session: Session, *, but: int | None = None) -> int:
    query = select(func.count()).select_from(User).where(User.role == "admin", User.active)
    if but is not None:
        query = query.where(User.id != but)
    return int(session.scalar(query) or 0)


def user_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(User)) or 0)
