"""Outbound events for middleware (issue 19): an admin's subscriptions (URL, event types, signing
secret shown once, rotation with an overlap) and each subscription's dead-letter list and replay.
Delivery itself is the subscription's EventDelivery workflow."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from api import idempotency
from api.deps import ClientDep, DbDep, IdempotencyKey, PrincipalDep, SettingsDep
from api.errors import ApiError, error_responses
from api.schemas_events import (
    DeadLetterList,
    DeadLetterOut,
    ReplayIn,
    ReplayOut,
    RotateSecretIn,
    SubscriptionIn,
    SubscriptionList,
    SubscriptionOut,
    SubscriptionPatch,
)
from contracts.events import (
    delivery_request,
    event_delivery_workflow_id,
    request_replay,
    start_event_delivery,
)
from db.repositories import bookkeeping
from db.repositories import events as repo
from db.repositories.users import Principal
from db.session import Database
from domain.errors import Conflict, InvalidRequest, NotFound
from domain.events import check_event_types, check_url
from domain.secrets import mask
from tillflow.settings import Settings

router = APIRouter(prefix="/events", tags=["outbound events"])
Code = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]


def _admin(principal: Principal) -> None:
    if principal.role != "admin":
        raise ApiError(403, "forbidden", "Only an admin manages event subscriptions.")


def _url(settings: Settings, url: str) -> str:
    return check_url(
        url,
        require_https=settings.env == "production" or settings.events_require_https,
        allow_private=settings.events_allow_private_urls,
    )


def _out(v: repo.SubscriptionView, secret: str | None = None) -> SubscriptionOut:
    return SubscriptionOut(
        code=v.code,
        url=v.url,
        event_types=list(v.event_types),
        description=v.description,
        active=v.active,
        workflow_id=event_delivery_workflow_id(v.code),
        delivered=v.delivered,
        last_delivered_at=v.last_delivered_at,
        last_error=v.last_error,
        dead_letters=v.dead_letters,
        secret=secret if secret is not None else mask(f"whsec_{'x' * 28}{v.secret_tail}"),
        previous_secret_valid_until=v.rotating_until,
        created_at=v.created_at,
    )


def _masked(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "secret": mask(str(body.get("secret", "")))}


async def _shown_once(
    db: Database, scope: str, key: str | None, request: Any, status: int, run: Any
) -> JSONResponse:
    """Idempotency for a write whose answer holds a secret: the stored (replayed) answer has the
    secret masked, so it is in full only in the first answer."""
    digest = idempotency.request_hash(request)
    replayed = await run_in_threadpool(idempotency.replay, db, scope, key, digest)
    if replayed is not None:
        return replayed
    out: SubscriptionOut = await run()
    body = out.model_dump(mode="json")
    await run_in_threadpool(idempotency.remember, db, scope, key, digest, status, _masked(body))
    return JSONResponse(body, status_code=status)


def _audit(
    db: Database, principal: Principal, action: str, code: str, detail: dict[str, Any]
) -> None:
    with db.unit_of_work() as s:
        bookkeeping.audit(
            s,
            action=action,
            subject=f"events:{code}",
            actor_user_id=principal.user_id,
            detail=detail,
        )


def _new_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(24)}"


@router.post(
    "/subscriptions",
    status_code=201,
    response_model=SubscriptionOut,
    responses=error_responses(401, 403, 409, 422, 503),
)
async def add_subscription(
    body: SubscriptionIn,
    principal: PrincipalDep,
    db: DbDep,
    client: ClientDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Subscribe a receiver (a Zapier / Make / n8n catch hook, an ERP endpoint) to event types;
    it hears of changes from now on. The signing secret is in this answer only."""
    _admin(principal)
    url = _url(settings, body.url)
    types = check_event_types(body.event_types)

    async def run() -> SubscriptionOut:
        secret = _new_secret()

        def add() -> repo.SubscriptionView:
            with db.unit_of_work() as s:
                made = repo.add_subscription(
                    s,
                    code=body.code,
                    url=url,
                    event_types=types,
                    secret=secret,
                    description=body.description,
                )
                if made is None:
                    raise Conflict(
                        f"An event subscription {body.code} exists already.",
                        code="subscription_exists",
                    )
                bookkeeping.audit(
                    s,
                    action="events.subscribe",
                    subject=f"events:{body.code}",
                    actor_user_id=principal.user_id,
                    detail={"url": url, "event_types": list(types)},
                )
                return made

        made = await run_in_threadpool(add)
        await start_event_delivery(
            client, delivery_request(settings, made.code), task_queue=settings.web_task_queue
        )
        return _out(made, secret)

    return await _shown_once(
        db, "events-subscribe", idempotency_key, body.model_dump(mode="json"), 201, run
    )


@router.get("/subscriptions", response_model=SubscriptionList, responses=error_responses(401, 403))
def list_subscriptions(principal: PrincipalDep, db: DbDep) -> SubscriptionList:
    """Every event subscription, with its delivery counters and dead letters (secrets masked)."""
    _admin(principal)
    with db.unit_of_work() as s:
        return SubscriptionList(items=[_out(v) for v in repo.subscriptions(s)])


def _get(db: Database, code: str) -> repo.SubscriptionView:
    with db.unit_of_work() as s:
        found = repo.subscription(s, code)
    if found is None:
        raise NotFound(f"There is no event subscription {code}.")
    return found


@router.get(
    "/subscriptions/{code}",
    response_model=SubscriptionOut,
    responses=error_responses(401, 403, 404, 422),
)
def get_subscription(code: Code, principal: PrincipalDep, db: DbDep) -> SubscriptionOut:
    """One event subscription (its secret masked)."""
    _admin(principal)
    return _out(_get(db, code))


@router.patch(
    "/subscriptions/{code}",
    response_model=SubscriptionOut,
    responses=error_responses(401, 403, 404, 422, 503),
)
async def update_subscription(
    code: Code,
    body: SubscriptionPatch,
    principal: PrincipalDep,
    db: DbDep,
    client: ClientDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Change the URL, the event types or the description, or pause (`active: false`) and resume
    delivery; a resumed subscription hears of changes from then on."""
    _admin(principal)
    url = _url(settings, body.url) if body.url is not None else None
    types = check_event_types(body.event_types) if body.event_types is not None else None

    async def run() -> dict[str, Any]:
        def change() -> repo.SubscriptionView:
            with db.unit_of_work() as s:
                done = repo.update_subscription(
                    s,
                    code,
                    url=url,
                    event_types=types,
                    description=body.description,
                    active=body.active,
                )
                if done is None:
                    raise NotFound(f"There is no event subscription {code}.")
                bookkeeping.audit(
                    s,
                    action="events.update",
                    subject=f"events:{code}",
                    actor_user_id=principal.user_id,
                    detail=body.model_dump(exclude_none=True),
                )
                return done

        done = await run_in_threadpool(change)
        if done.active:
            await start_event_delivery(
                client, delivery_request(settings, code), task_queue=settings.web_task_queue
            )
        return _out(done).model_dump(mode="json")

    return await idempotency.once(
        db, f"events-update:{code}", idempotency_key, body.model_dump(mode="json"), run
    )


@router.delete(
    "/subscriptions/{code}",
    response_model=SubscriptionOut,
    responses=error_responses(401, 403, 404, 422),
)
def delete_subscription(
    code: Code, principal: PrincipalDep, db: DbDep, idempotency_key: IdempotencyKey = None
) -> Any:
    """Stop delivering to this subscription (it is kept, switched off, with its dead letters;
    its EventDelivery workflow ends at its next round)."""
    _admin(principal)

    def run() -> dict[str, Any]:
        with db.unit_of_work() as s:
            done = repo.update_subscription(s, code, active=False)
            if done is None:
                raise NotFound(f"There is no event subscription {code}.")
            bookkeeping.audit(
                s,
                action="events.unsubscribe",
                subject=f"events:{code}",
                actor_user_id=principal.user_id,
                detail={},
            )
        return _out(done).model_dump(mode="json")

    return idempotency.once_sync(db, f"events-delete:{code}", idempotency_key, {"code": code}, run)


@router.post(
    "/subscriptions/{code}/rotate-secret",
    response_model=SubscriptionOut,
    responses=error_responses(401, 403, 404, 422),
)
async def rotate_secret(
    code: Code,
    principal: PrincipalDep,
    db: DbDep,
    settings: SettingsDep,
    body: RotateSecretIn | None = None,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """A new signing secret (in this answer only); for `overlap_hours` every delivery carries a
    v1 for the new secret and one for the previous, so the receiver can switch in its own time."""
    _admin(principal)
    hours = (
        body.overlap_hours
        if body is not None and body.overlap_hours is not None
        else settings.events_rotation_overlap_hours
    )

    async def run() -> SubscriptionOut:
        secret = _new_secret()

        def rotate() -> repo.SubscriptionView:
            with db.unit_of_work() as s:
                done = repo.rotate_secret(s, code, secret, timedelta(hours=hours))
                if done is None:
                    raise NotFound(f"There is no event subscription {code}.")
                bookkeeping.audit(
                    s,
                    action="events.rotate_secret",
                    subject=f"events:{code}",
                    actor_user_id=principal.user_id,
                    detail={"overlap_hours": hours},
                )
                return done

        return _out(await run_in_threadpool(rotate), secret)

    return await _shown_once(
        db, f"events-rotate:{code}", idempotency_key, {"code": code, "hours": hours}, 200, run
    )


@router.get(
    "/subscriptions/{code}/dead-letters",
    response_model=DeadLetterList,
    responses=error_responses(401, 403, 404, 422),
)
def dead_letters(
    code: Code,
    principal: PrincipalDep,
    db: DbDep,
    status: Annotated[Literal["dead", "replayed", "all"], Query()] = "dead",
) -> DeadLetterList:
    """Events the receiver did not accept within the retry window, oldest first."""
    _admin(principal)
    _get(db, code)
    with db.unit_of_work() as s:
        rows = repo.dead_letters(s, code, status=None if status == "all" else status)
    return DeadLetterList(items=[_dead_out(r) for r in rows])


def _dead_out(r: repo.DeadLetterView) -> DeadLetterOut:
    return DeadLetterOut(
        id=r.id,
        event_id=r.event_id,
        type=r.type,
        entity=r.entity,
        attempts=r.attempts,
        last_status=r.last_status,
        last_error=r.last_error,
        status=r.status,
        dead_at=r.dead_at,
        replayed_at=r.replayed_at,
    )


@router.post(
    "/subscriptions/{code}/dead-letters/replay",
    status_code=202,
    response_model=ReplayOut,
    responses=error_responses(401, 403, 404, 409, 422, 503),
)
async def replay_dead_letters(
    code: Code,
    principal: PrincipalDep,
    db: DbDep,
    client: ClientDep,
    settings: SettingsDep,
    body: ReplayIn | None = None,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Send dead letters again (the `ids` given, or every dead one), oldest event first, with
    the same event ids: one that fails again stays on the list."""
    _admin(principal)
    ids = tuple(dict.fromkeys(body.ids)) if body else ()

    async def run() -> tuple[int, dict[str, Any]]:
        def pick() -> list[repo.DeadLetterView]:
            found = _get(db, code)
            if not found.active:
                raise Conflict(
                    f"Event subscription {code} is switched off: switch it on to replay.",
                    code="subscription_inactive",
                )
            with db.unit_of_work() as s:
                rows = repo.dead_letters(s, code, status="dead", ids=ids)
            missing = sorted(set(ids) - {r.id for r in rows})
            if missing:
                raise InvalidRequest(
                    f"Not a dead letter of {code}: {', '.join(map(str, missing[:10]))}.",
                    code="unknown_dead_letter",
                )
            if not rows:
                raise InvalidRequest(f"{code} has no dead letters.", code="no_dead_letters")
            return rows

        rows = await run_in_threadpool(pick)
        workflow_id = await request_replay(
            client,
            delivery_request(settings, code),
            tuple(r.outbox_id for r in rows),
            principal.username,
            task_queue=settings.web_task_queue,
        )
        await run_in_threadpool(
            _audit, db, principal, "events.replay", code, {"ids": [r.id for r in rows]}
        )
        out = ReplayOut(subscription=code, workflow_id=workflow_id, replaying=[r.id for r in rows])
        return 202, out.model_dump(mode="json")

    async def answer() -> idempotency.Answer:
        return idempotency.Answer(*await run())

    return await idempotency.once(
        db, f"events-replay:{code}", idempotency_key, {"code": code, "ids": ids}, answer
    )
