"""The codec server for the Temporal UI and CLI: encrypted workflow payloads, readable by admins.

Every payload in Temporal is encrypted (`tillflow/payloads.py`). The Temporal UI (Settings → Codec
Server, or the server's `codec.endpoint`) and the CLI (`temporal workflow show --codec-endpoint
https://api/codec --codec-auth "Bearer <token>"`) send payloads here to read them, following
Temporal's codec server protocol: `POST /codec/decode` and `POST /codec/encode` with
`{"payloads": [{"metadata": {"encoding": "<base64>"}, "data": "<base64>"}]}`, answered in the same
shape. Only a bearer token of role admin may; every decode is written to the audit log (who, how
many payloads, which namespace; never a payload). Browsers may call it from the origins in
TILLFLOW_CODEC_CORS_ORIGINS only.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from temporalio.api.common.v1 import Payload

from api.deps import DbDep, PrincipalDep, SettingsDep
from api.errors import ApiError, error_responses
from db.repositories import bookkeeping
from db.repositories.users import Principal
from domain.errors import DomainError, InvalidRequest
from tillflow.payloads import PayloadCipher
from tillflow.settings import Settings

CODEC_ROLES = frozenset({"admin"})
_ALLOWED_HEADERS = "Authorization, Content-Type, X-Namespace"


def _cors(request: Request, settings: Settings) -> dict[str, str]:
    """CORS headers when the request comes from an allowed origin (the Temporal UI), else none."""
    origin = request.headers.get("origin")
    if not origin or origin not in settings.codec_cors_origins:
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Allow-Headers": _ALLOWED_HEADERS,
        "Access-Control-Max-Age": "600",
        "Vary": "Origin",
    }


class _CorsRoute(APIRoute):
    """Every answer carries the CORS headers, refusals too: the UI can tell a 401 from an outage."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def with_cors(request: Request) -> Response:
            try:
                response = await handle(request)
            except (ApiError, DomainError) as exc:
                # Rendered by the app's own error mapping (api/errors.py), then given the headers.
                handlers = request.app.exception_handlers
                render = next((handlers[c] for c in type(exc).__mro__ if c in handlers), None)
                if render is None:
                    raise
                response = await render(request, exc)
            response.headers.update(_cors(request, request.app.state.settings))
            return response

        return with_cors


router = APIRouter(prefix="/codec", tags=["ops"], route_class=_CorsRoute)


class PayloadJSON(BaseModel):
    """One Temporal payload in protobuf JSON: metadata values and data are base64."""

    metadata: dict[str, str] = Field(default_factory=dict)
    data: str = ""


class PayloadsJSON(BaseModel):
    payloads: list[PayloadJSON]


def _b64(value: str, where: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest(f"{where} is not base64.") from None


def _from_json(body: PayloadsJSON) -> list[Payload]:
    return [
        Payload(
            metadata={k: _b64(v, f"payloads[{i}].metadata.{k}") for k, v in p.metadata.items()},
            data=_b64(p.data, f"payloads[{i}].data"),
        )
        for i, p in enumerate(body.payloads)
    ]


def _to_json(payloads: list[Payload]) -> dict[str, Any]:
    return {
        "payloads": [
            {
                "metadata": {k: base64.b64encode(v).decode() for k, v in p.metadata.items()},
                "data": base64.b64encode(p.data).decode(),
            }
            for p in payloads
        ]
    }


def _require_admin(principal: Principal) -> None:
    if principal.role not in CODEC_ROLES:
        raise ApiError(
            403, "forbidden", f"Only an admin may read workflow payloads; you are {principal.role}."
        )


def _audit(db: Any, principal: Principal, action: str, namespace: str, count: int) -> None:
    with db.unit_of_work() as s:
        bookkeeping.audit(
            s,
            action=action,
            subject=f"temporal:{namespace or 'default'}",
            actor_user_id=principal.user_id,
            detail={"payloads": count},
        )


Namespace = Annotated[str, Header(alias="X-Namespace", max_length=200)]
CODEC_ERRORS = error_responses(401, 403, 422)


@router.post("/decode", response_model=PayloadsJSON, responses=CODEC_ERRORS)
async def decode(
    body: PayloadsJSON,
    principal: PrincipalDep,
    db: DbDep,
    settings: SettingsDep,
    namespace: Namespace = "",
) -> dict[str, Any]:
    """Admins: decrypt payloads (current or previous key); payloads never encrypted pass as they
    are."""
    _require_admin(principal)
    payloads = _from_json(body)
    try:
        plain = PayloadCipher.from_settings(settings).decrypt(payloads)
    except ValueError as err:
        raise InvalidRequest(str(err)) from None
    await run_in_threadpool(_audit, db, principal, "codec.decode", namespace, len(payloads))
    return _to_json(plain)


@router.post("/encode", response_model=PayloadsJSON, responses=CODEC_ERRORS)
async def encode(
    body: PayloadsJSON, principal: PrincipalDep, settings: SettingsDep
) -> dict[str, Any]:
    """Admins: encrypt payloads with the current key (the UI's signal or start inputs)."""
    _require_admin(principal)
    return _to_json(PayloadCipher.from_settings(settings).encrypt(_from_json(body)))


@router.options("/decode", status_code=204, include_in_schema=False)
@router.options("/encode", status_code=204, include_in_schema=False)
def preflight() -> Response:
    """A browser's CORS preflight: no token needed (browsers send none); the headers are added by
    the route class for allowed origins only."""
    return Response(status_code=204)
