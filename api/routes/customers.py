"""Customer profiles (issue 17): create with the minimum a cashier types, look up, read with their
orders, returns, gift cards and store credit, change, record marketing consent, merge duplicates,
export everything held, erase (pseudonymise). Profile data is master data written here with a
unit of work; store credit moves in a merge only through the balances ledger (one transaction)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from api import idempotency
from api.deps import DbDep, IdempotencyKey, PrincipalDep, SettingsDep
from api.errors import ApiError, error_responses
from api.permissions import require_role
from api.schemas_customers import (
    ConsentIn,
    CreatedCustomerOut,
    CustomerDetailOut,
    CustomerIn,
    CustomerList,
    CustomerOut,
    CustomerPatch,
    EmailOut,
    MergedOut,
    MergeIn,
    PhoneOut,
)
from db.repositories import bookkeeping, customers
from db.repositories.users import Principal
from domain import customers as rules
from domain.errors import Conflict, InvalidRequest

router = APIRouter(prefix="/customers", tags=["customers"])
CustomerId = Annotated[int, Path(ge=1, le=2**31 - 1, description="the customer's id")]
_ERRORS = error_responses(401, 403, 404, 409, 422)
_FULL = ("manager", "admin")


def _staff(principal: Principal) -> None:
    """Staff of a store (any role signed up for one), finance and admins."""
    if principal.role in ("admin", "finance") or principal.location_ids:
        return
    raise ApiError(403, "forbidden", "Only the staff of a store may look customers up.")


def _region(s: Session, principal: Principal, default: str) -> str:
    return customers.region_for(s, principal.location_ids, default)


def _stores(principal: Principal) -> frozenset[int] | None:
    return None if principal.role in ("admin", "finance") else principal.location_ids


def _out(view: customers.ProfileView, principal: Principal) -> dict[str, Any]:
    full = principal.role in _FULL
    current: dict[str, bool] = {}
    for c in view.consents:
        current[c["channel"]] = c["granted"]
    return {
        "id": view.id,
        "name": view.name,
        "emails": [
            EmailOut(
                email=e["email"] if full else rules.mask_email(e["email"]),
                primary=e["primary"],
                verified=e["verified"],
            )
            for e in view.emails
        ],
        "phones": [
            PhoneOut(
                number=p["number"] if full else rules.mask_phone(p["number"]), primary=p["primary"]
            )
            for p in view.phones
        ],
        "addresses": view.addresses if full else [],
        "consents": current,
        "consent_history": view.consents,
        "tax_exempt": view.tax_exempt,
        "groups": list(view.groups),
        "notes": view.notes,
        "merged_into": view.merged_into,
        "erased": view.erased,
        "has_card_code": view.has_card_code,
        "contacts_masked": not full,
        "created_at": view.created_at,
    }


def _live(view: customers.ProfileView) -> None:
    if view.erased:
        raise Conflict(f"Customer {view.id} was erased.", code="customer_erased")
    if view.merged_into is not None:
        raise Conflict(
            f"Customer {view.id} was merged into customer {view.merged_into}; use that one.",
            code="customer_merged",
        )


def _audit(s: Session, principal: Principal, action: str, customer_id: int, **detail: Any) -> None:
    bookkeeping.audit(
        s,
        action=action,
        subject=f"customer:{customer_id}",
        actor_user_id=principal.user_id,
        detail={"by": principal.username, **detail},  # never a contact detail: erasure keeps it
    )


@router.post("", response_model=CreatedCustomerOut, status_code=201, responses=_ERRORS)
def create_customer(
    body: CustomerIn,
    principal: PrincipalDep,
    db: DbDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Any store's staff: a new customer from a name and a phone (any format; read in the store's
    country) or an email. 409 when that phone or email belongs to someone else (the answer names
    them). The card code is in this answer only (a replay with the same key answers null)."""
    _staff(principal)
    scope, request = f"{principal.user_id}:customers:create", body.model_dump()
    digest = idempotency.request_hash(request)
    replayed = idempotency.replay(db, scope, idempotency_key, digest)
    if replayed is not None:
        return replayed
    name = rules.clean_name(body.name)
    if not (body.email or body.phone):
        raise InvalidRequest(
            "A new customer needs a phone number or an email.", code="customer_contact_missing"
        )
    with db.unit_of_work() as s:
        region = _region(s, principal, settings.customer_default_region)
        emails = [rules.normalize_email(body.email)] if body.email else []
        phones = [rules.normalize_phone(body.phone, region)] if body.phone else []
        new = customers.create_profile(
            s, name=name, contacts=customers.Contacts(emails, phones), source="till"
        )
        if body.notes:
            customers.profile_row(s, new.id).notes = body.notes
        _audit(s, principal, "customer.created", new.id)
        answer = jsonable_encoder(_out(customers.profile(s, new.id), principal))
    idempotency.remember(
        db, scope, idempotency_key, digest, 201, {**answer, "card_code": None}
    )  # the code is no record's business: only its hash is kept
    return JSONResponse({**answer, "card_code": new.code}, status_code=201)


@router.get("", response_model=CustomerList, responses=_ERRORS)
def search_customers(
    principal: PrincipalDep,
    db: DbDep,
    settings: SettingsDep,
    q: Annotated[str, Query(min_length=1, max_length=100, description="email, phone, code, name")],
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> CustomerList:
    """Any store's staff: customers by email, phone (any format), card code or name. Cashiers see
    contacts masked; managers and admins in full."""
    _staff(principal)
    with db.unit_of_work() as s:
        ids = customers.search(s, q, _region(s, principal, settings.customer_default_region), limit)
        return CustomerList(
            items=[CustomerOut(**_out(customers.profile(s, i), principal)) for i in ids]
        )


@router.get("/{customer_id}", response_model=CustomerDetailOut, responses=_ERRORS)
def get_customer(customer_id: CustomerId, principal: PrincipalDep, db: DbDep) -> CustomerDetailOut:
    """The profile with the customer's orders and returns (of the caller's stores and the web),
    the gift cards their orders issued and their store credit with its ledger."""
    _staff(principal)
    with db.unit_of_work() as s:
        view = customers.profile(s, customer_id)
        held: dict[str, Any] = {
            **_out(view, principal),
            **customers.history(s, customer_id, _stores(principal)),
        }
        return CustomerDetailOut.model_validate(held)


@router.patch("/{customer_id}", response_model=CustomerOut, responses=_ERRORS)
def update_customer(
    customer_id: CustomerId,
    body: CustomerPatch,
    principal: PrincipalDep,
    db: DbDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Any store's staff: the name, notes, emails and phones (added, removed, made primary),
    addresses (replaced). Managers and admins: the tax exemption, customer groups and verified
    emails."""
    _staff(principal)
    if (
        body.tax_exempt is not None or body.verified_emails or body.groups is not None
    ) and principal.role not in _FULL:
        raise ApiError(
            403,
            "forbidden",
            "Only a manager may change tax exemption or customer groups, or verify an email.",
        )

    def run() -> dict[str, Any]:
        with db.unit_of_work() as s:
            region = _region(s, principal, settings.customer_default_region)
            view = customers.profile(s, customer_id)
            _live(view)
            add_e = [rules.normalize_email(e) for e in body.add_emails]
            add_p = [rules.normalize_phone(p, region) for p in body.add_phones]
            primary_e = rules.normalize_email(body.primary_email) if body.primary_email else None
            primary_p = (
                rules.normalize_phone(body.primary_phone, region) if body.primary_phone else None
            )
            customers.check_contacts_free(
                s,
                customers.Contacts(
                    add_e + ([primary_e] if primary_e else []),
                    add_p + ([primary_p] if primary_p else []),
                ),
                own_id=customer_id,
            )
            row = customers.profile_row(s, customer_id, lock=True)
            if body.name is not None:
                customers.rename(s, customer_id, rules.clean_name(body.name))
            if body.notes is not None:
                row.notes = body.notes
            if body.tax_exempt is not None:
                row.tax_exempt = body.tax_exempt
            if body.groups is not None:
                customers.set_groups(s, customer_id, body.groups)
            for e in body.remove_emails:
                customers.remove_email(s, customer_id, rules.normalize_email(e))
            for p in body.remove_phones:
                customers.remove_phone(s, customer_id, rules.normalize_phone(p, region))
            for e in add_e:
                customers.add_email(s, customer_id, e, source="till")
            for p in add_p:
                customers.add_phone(s, customer_id, p)
            if primary_e:
                customers.add_email(s, customer_id, primary_e, primary=True, source="till")
            if primary_p:
                customers.add_phone(s, customer_id, primary_p, primary=True)
            for e in body.verified_emails:
                customers.verify_email(s, customer_id, rules.normalize_email(e))
            if body.addresses is not None:
                customers.set_addresses(
                    s,
                    customer_id,
                    [{**a.model_dump(), "country": a.country.upper()} for a in body.addresses],
                )
            _audit(
                s,
                principal,
                "customer.updated",
                customer_id,
                fields=sorted(body.model_dump(exclude_unset=True)),
            )
            return _out(customers.profile(s, customer_id), principal)

    return idempotency.once_sync(
        db,
        f"{principal.user_id}:customers:{customer_id}:patch",
        idempotency_key,
        body.model_dump(),
        run,
    )


@router.post("/{customer_id}/consents", response_model=CustomerOut, responses=_ERRORS)
def record_consent(
    customer_id: CustomerId,
    body: ConsentIn,
    principal: PrincipalDep,
    db: DbDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Any store's staff: the customer gives or withdraws marketing consent on one channel (email,
    sms, post); each is kept with its source and time (a history, never overwritten)."""
    _staff(principal)

    def run() -> dict[str, Any]:
        rules.check_consent(body.channel, body.source)
        with db.unit_of_work() as s:
            _live(customers.profile(s, customer_id))
            customers.record_consent(
                s,
                customer_id,
                channel=body.channel,
                granted=body.granted,
                source=body.source,
                user_id=principal.user_id,
            )
            _audit(s, principal, "customer.consent", customer_id, **body.model_dump())
            return _out(customers.profile(s, customer_id), principal)

    return idempotency.once_sync(
        db,
        f"{principal.user_id}:customers:{customer_id}:consents",
        idempotency_key,
        body.model_dump(),
        run,
    )


@router.post("/{customer_id}/merge", response_model=MergedOut, responses=_ERRORS)
def merge_customer(
    customer_id: CustomerId,
    body: MergeIn,
    principal: PrincipalDep,
    db: DbDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Managers and admins: merge this duplicate into `into`. Orders, returns, store credit (a
    "merge" ledger row out of one account and one into the other), the card code (when the
    survivor has none), emails, phones and addresses move to the survivor; this one is kept,
    marked merged_into. Audited."""
    require_role(principal, "manager")

    def run() -> MergedOut:
        with db.unit_of_work() as s:
            done = customers.merge(
                s, customer_id, body.into, key=f"customer-merge:{customer_id}:{body.into}"
            )
            _audit(
                s,
                principal,
                "customer.merged",
                customer_id,
                into=body.into,
                orders=done.orders,
                returns=done.returns,
                store_credit=done.store_credit,
                currency=done.currency,
            )
            return MergedOut(
                merged=customer_id,
                into=body.into,
                orders_moved=done.orders,
                returns_moved=done.returns,
                store_credit_moved=done.store_credit,
                currency=done.currency,
                card_code_moved=done.card_code_moved,
            )

    return idempotency.once_sync(
        db,
        f"{principal.user_id}:customers:{customer_id}:merge",
        idempotency_key,
        body.model_dump(),
        run,
    )


@router.get("/{customer_id}/export", responses=_ERRORS)
def export_customer(customer_id: CustomerId, principal: PrincipalDep, db: DbDep) -> JSONResponse:
    """Managers and admins: everything held on the customer as JSON (the profile, every contact,
    address and consent, orders, returns, gift cards, store credit and its ledger). Audited."""
    require_role(principal, "manager")
    with db.unit_of_work() as s:
        view = customers.profile(s, customer_id)
        body = {
            "customer": {
                "id": view.id,
                "name": view.name,
                "emails": view.emails,
                "phones": view.phones,
                "addresses": view.addresses,
                "consents": view.consents,
                "tax_exempt": view.tax_exempt,
                "groups": list(view.groups),
                "notes": view.notes,
                "merged_into": view.merged_into,
                "erased": view.erased,
                "created_at": view.created_at,
            },
            **customers.history(s, customer_id, None),
        }
        _audit(s, principal, "customer.exported", customer_id)
    return JSONResponse(
        jsonable_encoder(body),
        headers={"Content-Disposition": f'attachment; filename="customer-{customer_id}.json"'},
    )


@router.post("/{customer_id}/erase", response_model=CustomerOut, responses=_ERRORS)
def erase_customer(
    customer_id: CustomerId,
    principal: PrincipalDep,
    db: DbDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Managers and admins: pseudonymise the customer ("Erased customer {id}"; emails, phones,
    addresses, notes and card code deleted; consent history kept without contact details). Their
    orders and returns keep pointing at them: a sale stays a sale. Audited; twice is once."""
    require_role(principal, "manager")

    def run() -> dict[str, Any]:
        with db.unit_of_work() as s:
            customers.erase(s, customer_id)
            _audit(s, principal, "customer.erased", customer_id)
            return _out(customers.profile(s, customer_id), principal)

    return idempotency.once_sync(
        db, f"{principal.user_id}:customers:{customer_id}:erase", idempotency_key, {}, run
    )
