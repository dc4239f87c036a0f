"""Who may do what in the back office: one place for the role and store checks every back-office
route makes (a 403 with a clear message, never a silent empty answer)."""

from __future__ import annotations

from collections.abc import Iterable

from api.errors import ApiError
from db.repositories.users import Principal

CATALOG = "catalog"  # a manager with this permission edits the catalogue and price lists


def require_role(principal: Principal, *roles: str) -> None:
    """403 unless the caller has one of `roles` (an admin always passes)."""
    if principal.role == "admin" or principal.role in roles:
        return
    wanted = " or ".join(roles) if roles else "an admin"
    raise ApiError(403, "forbidden", f"This needs {wanted}; you are a {principal.role}.")


def require_permission(principal: Principal, permission: str) -> None:
    """403 unless the caller is an admin or holds `permission` (e.g. "catalog")."""
    if not principal.may(permission):
        raise ApiError(
            403,
            "forbidden",
            f"This needs the '{permission}' permission (an admin can grant it); "
            f"you are a {principal.role} without it.",
        )


def require_location(principal: Principal, location_id: int, code: str = "") -> None:
    """403 unless the caller works at the location (admins, finance and head office see all)."""
    if principal.role in ("admin", "finance"):
        return
    if location_id not in principal.location_ids:
        raise ApiError(
            403, "forbidden", f"You are not signed up for location {code or location_id}."
        )


def require_manager_of(principal: Principal, location_ids: Iterable[int], code: str = "") -> None:
    """403 unless the caller is an admin, or a manager of at least one of the locations."""
    if principal.role == "admin":
        return
    if principal.role != "manager":
        raise ApiError(403, "forbidden", f"This needs a store manager; you are a {principal.role}.")
    if not set(location_ids) & principal.location_ids:
        raise ApiError(403, "forbidden", f"You do not manage {code or 'that location'}.")
