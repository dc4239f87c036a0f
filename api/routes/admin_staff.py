"""Back office: staff accounts. Admins manage everyone; a store manager manages the cashiers and
fulfilment staff of their own stores (never managers, finance or admins, never permissions).
PINs and passwords are set here and never shown back; deactivating a person ends every sign-in
they have at once. Every change is audited (never with a secret)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from api.auth import hash_secret, token_hash, verify_secret
from api.deps import DbDep, IdempotencyKey, PrincipalDep, SettingsDep
from api.errors import ApiError, error_responses
from api.permissions import require_role
from api.routes.admin_places import audit, idempotent
from api.schemas_admin import (
    PasswordIn,
    PinIn,
    SecretSet,
    UserDeactivated,
    UserIn,
    UserList,
    UserOut,
    UserPatch,
)
from db.models import User
from db.repositories import staff_admin, users
from db.repositories.users import Principal
from domain import staff
from domain.errors import Conflict, InvalidRequest, NotFound
from tillflow.settings import Settings

router = APIRouter(prefix="/admin/users", tags=["back office: staff"])
Username = Annotated[str, Path(min_length=1, max_length=100, description="e.g. carl")]
_ERRORS = error_responses(401, 403, 404, 409, 422)


def _now() -> datetime:
    return datetime.now(UTC)


def user_out(s: Session, user: User, codes: list[str] | None = None) -> UserOut:
    return UserOut(
        username=user.username,
        display_name=user.display_name,
        role=user.role,  # type: ignore[arg-type]  # a CHECK constraint holds it to the Literal
        locations=staff_admin.location_codes(s, user.id) if codes is None else codes,
        permissions=list(user.permissions or []),
        staff_code=user.staff_code,
        active=user.active,
        has_pin=user.pin_hash is not None,
        has_password=user.password_hash is not None,
        created_at=user.created_at,
    )


def _user(s: Session, username: str) -> User:
    found = staff_admin.user_by_username(s, username)
    if found is None:
        raise NotFound(f"There is no user {username}.")
    return found


def _forbid(message: str) -> ApiError:
    return ApiError(403, "forbidden", message)


def _may_manage(principal: Principal, role: str, location_ids: frozenset[int], whom: str) -> None:
    """Admins manage everyone; a manager the cashiers and fulfilment staff of their stores."""
    if principal.role == "admin":
        return
    if principal.role != "manager":
        raise _forbid(
            f"Managing staff needs a store manager or an admin; you are a {principal.role}."
        )
    if role not in staff.MANAGED_BY_MANAGERS:
        raise _forbid(
            f"Only an admin manages a {role}; a store manager manages cashiers and "
            "fulfilment staff."
        )
    if not location_ids & principal.location_ids:
        raise _forbid(f"{whom} does not work at a store you manage.")


def _may_assign(principal: Principal, old: frozenset[int], new: frozenset[int]) -> None:
    """A manager adds or removes only the stores they manage themselves."""
    if principal.role == "admin":
        return
    foreign = (old ^ new) - principal.location_ids
    if foreign:
        raise _forbid("You can only add or remove the stores you manage.")


def _secrets_checked(
    settings: Settings, body: UserIn | None, username: str, display_name: str
) -> None:
    if body is None:
        return
    if body.pin is not None:
        staff.check_pin(body.pin)
    if body.password is not None:
        _check_password(settings, body.password, username, display_name)


def _check_password(settings: Settings, password: str, username: str, display_name: str) -> None:
    staff.check_password(
        password,
        user_inputs=[username, display_name],
        min_length=settings.password_min_length,
        min_score=settings.password_min_score,
    )


def _check_pin_holder(role: str, staff_code: str | None) -> None:
    if role not in staff.TILL_ROLES:
        raise InvalidRequest(
            f"A {role} signs in with a password; PINs are for cashiers and managers at the till.",
            code="pin_not_used",
        )
    if not staff_code:
        raise InvalidRequest(
            "Give the person a staff code first: the PIN is typed with it at the till.",
            code="no_staff_code",
        )


def _keep_an_admin(s: Session, user: User) -> None:
    if user.role == "admin" and user.active and staff_admin.active_admins(s, but=user.id) == 0:
        raise Conflict(
            f"{user.username} is the last active admin: make another admin first.",
            code="last_admin",
        )


def _public(body: UserIn) -> dict[str, Any]:
    """The request without its secrets (its hash is kept for Idempotency-Key replays)."""
    out = body.model_dump(exclude={"pin", "password"})
    out["pin_given"], out["password_given"] = body.pin is not None, body.password is not None
    return out


@router.get("", response_model=UserList, responses=error_responses(401, 403))
def list_users(principal: PrincipalDep, db: DbDep, include_inactive: bool = True) -> UserList:
    """Admins: everyone; a store manager: the people of their stores."""
    if principal.role != "admin":
        require_role(principal, "manager")
    only = None if principal.role == "admin" else principal.location_ids
    with db.unit_of_work() as s:
        rows = staff_admin.users(s, at_locations=only, include_inactive=include_inactive)
        codes = staff_admin.location_codes_of(s, [u.id for u in rows])
        return UserList(items=[user_out(s, u, codes.get(u.id, [])) for u in rows])


@router.post("", response_model=UserOut, status_code=201, responses=_ERRORS)
def create_user(
    body: UserIn,
    principal: PrincipalDep,
    db: DbDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Add a person with their role, stores, staff code and optionally PIN and password.
    Managers: cashiers and fulfilment staff of their own stores, without permissions."""

    def run() -> UserOut:
        staff.check_username(body.username)
        if body.staff_code is not None:
            staff.check_staff_code(body.staff_code)
        permissions = staff.check_permissions(body.permissions)
        if permissions and principal.role != "admin":
            raise _forbid("Only an admin grants permissions.")
        if body.pin is not None:
            _check_pin_holder(body.role, body.staff_code)
        _secrets_checked(settings, body, body.username, body.display_name)
        with db.unit_of_work() as s:
            ids = frozenset(staff_admin.location_ids_for_codes(s, body.locations).values())
            if principal.role != "admin":
                _may_manage(principal, body.role, principal.location_ids, body.username)
                if not ids or not ids <= principal.location_ids:
                    raise _forbid("You can only add people to the stores you manage.")
            if body.role in ("cashier", "manager", "fulfilment") and not ids:
                raise InvalidRequest(
                    f"A {body.role} works at one store at least.", code="no_location"
                )
            user = staff_admin.add_user(
                s,
                username=body.username,
                display_name=body.display_name,
                role=body.role,
                staff_code=body.staff_code,
                permissions=permissions,
                pin_hash=hash_secret(body.pin) if body.pin is not None else None,
                password_hash=hash_secret(body.password) if body.password is not None else None,
                location_ids=ids,
            )
            audit(s, principal, "user.created", f"user:{user.username}", **_public(body))
            return user_out(s, user)

    return idempotent(db, principal, "POST /admin/users", idempotency_key, _public(body), 201, run)


@router.get("/{username}", response_model=UserOut, responses=_ERRORS)
def get_user(username: Username, principal: PrincipalDep, db: DbDep) -> UserOut:
    """One person (admins: anyone; managers: the people of their stores; anyone: themselves)."""
    with db.unit_of_work() as s:
        user = _user(s, username)
        where = users.user_location_ids(s, user.id)
        if principal.user_id != user.id and principal.role != "admin":
            require_role(principal, "manager")
            if not where & principal.location_ids:
                raise _forbid(f"{username} does not work at a store you manage.")
        return user_out(s, user)


@router.patch("/{username}", response_model=UserOut, responses=_ERRORS)
def update_user(
    username: Username,
    body: UserPatch,
    principal: PrincipalDep,
    db: DbDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Change a person's name, role, stores, permissions or staff code. A changed role or a store
    taken away ends their sign-ins (their next call signs in again with the new rights)."""
    fields = body.model_dump(exclude_unset=True)

    def run() -> UserOut:
        for name in ("display_name", "role", "locations", "permissions"):
            if name in fields and fields[name] is None:
                raise InvalidRequest(f"{name} cannot be null.", code="missing_field")
        with db.unit_of_work() as s:
            user = _user(s, username)
            old = users.user_location_ids(s, user.id)
            _may_manage(principal, user.role, old, username)
            if "role" in fields:
                _may_manage(principal, fields["role"], old, username)
            new = old
            if "locations" in fields:
                new = frozenset(staff_admin.location_ids_for_codes(s, fields["locations"]).values())
                _may_assign(principal, old, new)
            role = fields.get("role", user.role)
            if role in ("cashier", "manager", "fulfilment") and not new:
                raise InvalidRequest(f"A {role} works at one store at least.", code="no_location")
            if "permissions" in fields:
                permissions = staff.check_permissions(fields["permissions"])
                if principal.role != "admin" and permissions != sorted(user.permissions or []):
                    raise _forbid("Only an admin grants or removes permissions.")
            if fields.get("staff_code") is not None:
                staff.check_staff_code(fields["staff_code"])
                if staff_admin.staff_code_taken(s, fields["staff_code"], but=user.id):
                    raise Conflict(
                        f"Staff code {fields['staff_code']} is taken.", code="duplicate_staff_code"
                    )
            if role != user.role:
                _keep_an_admin(s, user)
            before = user_out(s, user).model_dump(mode="json")
            narrowed = (
                role != user.role
                or bool(old - new)
                or (
                    "permissions" in fields
                    and set(user.permissions or []) - set(fields["permissions"])
                )
            )
            if "display_name" in fields:
                user.display_name = fields["display_name"]
            user.role = role
            if "permissions" in fields:
                user.permissions = staff.check_permissions(fields["permissions"])
            if "staff_code" in fields:
                user.staff_code = fields["staff_code"] or None
            if new != old:
                staff_admin.set_locations(s, user.id, new)
            s.flush()
            revoked = staff_admin.revoke_tokens(s, user.id, _now()) if narrowed else 0
            audit(
                s,
                principal,
                "user.updated",
                f"user:{username}",
                before=before,
                after=fields,
                tokens_revoked=revoked,
            )
            return user_out(s, user)

    return idempotent(
        db, principal, f"PATCH /admin/users/{username}", idempotency_key, fields, 200, run
    )


@router.post("/{username}/pin", response_model=SecretSet, responses=_ERRORS)
def set_pin(
    username: Username,
    body: PinIn,
    principal: PrincipalDep,
    db: DbDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """A manager of the person's store (or an admin): set or reset their till PIN (4–8 digits,
    not an easily guessed one). Their till sign-ins end, and a lockout of their staff code is
    lifted. The PIN is never shown again."""

    def run() -> SecretSet:
        with db.unit_of_work() as s:
            user = _user(s, username)
            _may_manage(principal, user.role, users.user_location_ids(s, user.id), username)
            _check_pin_holder(user.role, user.staff_code)
            staff.check_pin(body.pin)
            user.pin_hash = hash_secret(body.pin)
            revoked = staff_admin.revoke_tokens(s, user.id, _now(), only="till")
            assert user.staff_code is not None
            users.clear_sign_in_guard(s, "staff", user.staff_code)
            audit(s, principal, "user.pin_set", f"user:{username}", tokens_revoked=revoked)
            return SecretSet(username=username, changed="pin", tokens_revoked=revoked)

    return idempotent(
        db, principal, f"POST /admin/users/{username}/pin", idempotency_key, {}, 200, run
    )


@router.post("/{username}/password", response_model=SecretSet, responses=_ERRORS)
def set_password(
    username: Username,
    body: PasswordIn,
    principal: PrincipalDep,
    db: DbDep,
    settings: SettingsDep,
    authorization: str = Header(),
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Set a password: your own (with `current_password`), or as the manager of the person's
    store or an admin. It must pass the strength check; the person's other back-office sign-ins
    end (yours, when it is your own, stays)."""

    def run() -> SecretSet:
        with db.unit_of_work() as s:
            user = _user(s, username)
            own = user.id == principal.user_id
            if own:
                if not verify_secret(body.current_password or "", user.password_hash):
                    raise InvalidRequest(
                        "Give your current password to change it.", code="wrong_password"
                    )
            else:
                _may_manage(principal, user.role, users.user_location_ids(s, user.id), username)
            _check_password(settings, body.password, user.username, user.display_name)
            user.password_hash = hash_secret(body.password)
            keep = token_hash(authorization.partition(" ")[2].strip()) if own else None
            revoked = staff_admin.revoke_tokens(s, user.id, _now(), only="backoffice", but=keep)
            users.clear_sign_in_guard(s, "user", user.username)
            audit(s, principal, "user.password_set", f"user:{username}", tokens_revoked=revoked)
            return SecretSet(username=username, changed="password", tokens_revoked=revoked)

    return idempotent(
        db, principal, f"POST /admin/users/{username}/password", idempotency_key, {}, 200, run
    )


@router.post("/{username}/deactivate", response_model=UserDeactivated, responses=_ERRORS)
def deactivate_user(
    username: Username, principal: PrincipalDep, db: DbDep, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Someone leaves: their account stays (sales keep their cashier) but can no longer sign in,
    and every token they hold — at any till and in the back office — is refused from now on."""

    def run() -> UserDeactivated:
        with db.unit_of_work() as s:
            user = _user(s, username)
            _may_manage(principal, user.role, users.user_location_ids(s, user.id), username)
            _keep_an_admin(s, user)
            user.active = False
            s.flush()
            revoked = staff_admin.revoke_tokens(s, user.id, _now())
            audit(s, principal, "user.deactivated", f"user:{username}", tokens_revoked=revoked)
            return UserDeactivated(user=user_out(s, user), tokens_revoked=revoked)

    return idempotent(
        db, principal, f"POST /admin/users/{username}/deactivate", idempotency_key, {}, 200, run
    )


@router.post("/{username}/reactivate", response_model=UserOut, responses=_ERRORS)
def reactivate_user(
    username: Username, principal: PrincipalDep, db: DbDep, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Let a deactivated person sign in again (with their PIN and password as they were)."""

    def run() -> UserOut:
        with db.unit_of_work() as s:
            user = _user(s, username)
            _may_manage(principal, user.role, users.user_location_ids(s, user.id), username)
            user.active = True
            audit(s, principal, "user.reactivated", f"user:{username}")
            return user_out(s, user)

    return idempotent(
        db, principal, f"POST /admin/users/{username}/reactivate", idempotency_key, {}, 200, run
    )
