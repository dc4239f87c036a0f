"""Every business error crosses Temporal and comes out of the API as itself.

Each DomainError subclass is raised inside an activity (encoded there by `@encode_errors`), fails a
workflow (and, separately, an update), is decoded by the client and answered by the API's one
error mapping: the client sees the error's own code, status and message. A failure the codec
does not know is a 503 `temporarily_unavailable` with Retry-After, never a 422 with its text.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from temporalio import activity, workflow
from temporalio.client import Client, WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from api.errors import install
from contracts.errors import as_workflow_failure, decode, encode_errors, from_failure, to_failure
from domain.errors import (
    CatalogInvalid,
    CatalogProblem,
    Conflict,
    DomainError,
    InsufficientBalance,
    InsufficientTender,
    InvalidRequest,
    LimitReached,
    NotFound,
    OfflineRefused,
    OutOfStock,
    PickIncomplete,
    TemporarilyUnavailable,
    WrongItem,
    registered,
)
from domain.routing import Shortfall, Unroutable


def _samples() -> dict[str, DomainError]:
    """One instance of every registered class (a new subclass without a sample fails the test)."""
    return {
        "DomainError": DomainError("A rule refused it."),
        "NotFound": NotFound("There is no till XYZ9."),
        "Conflict": Conflict("Task 7 is done already."),
        "InvalidRequest": InvalidRequest("The basket is empty."),
        "InsufficientTender": InsufficientTender("Short by 1.00."),
        "OutOfStock": OutOfStock(3, "MUG-1", 2),
        "InsufficientBalance": InsufficientBalance("The gift card holds 5.00."),
        "OfflineRefused": OfflineRefused("A gift card can't be used while the till is offline."),
        "WrongItem": WrongItem("Too many: MUG-1."),
        "PickIncomplete": PickIncomplete("Nothing was scanned."),
        "TemporarilyUnavailable": TemporarilyUnavailable("The carrier did not answer."),
        "LimitReached": LimitReached("You have 5 open carts; check one out first."),
        "Unroutable": Unroutable([Shortfall("MUG-1", 3, 1, "no_stock")]),
        "CatalogInvalid": CatalogInvalid([CatalogProblem("sku", "bad_sku", "Too long.")]),
    }


SAMPLES = _samples()
REFINED = Conflict("Wrong pickup code.", code="wrong_code")  # an instance's own code travels too


@dataclass(frozen=True, kw_only=True)
class Raise:
    name: str  # which sample to raise ("" = an infrastructure failure the codec does not know)
    refined: bool = False


def _error(r: Raise) -> Exception:
    if not r.name:
        return ApplicationError("psycopg.OperationalError: SSL SYSCALL error", type="Boom")
    return REFINED if r.refined else SAMPLES[r.name]


@encode_errors
class RaisingActivities:
    @activity.defn(name="codec.raise")
    def raise_it(self, r: Raise) -> None:
        """Raise the sample as an activity would: a plain DomainError."""
        err = _error(r)
        if isinstance(err, ApplicationError):
            raise ApplicationError(err.message, type=err.type, non_retryable=True)
        raise err


_ONCE: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=10),
    "retry_policy": RetryPolicy(maximum_attempts=1),
}


@workflow.defn(name="CodecProbe", sandboxed=False)
class CodecProbe:
    """Fails with whatever its activity failed with; its update refuses the same way."""

    def __init__(self) -> None:
        self._probed = False

    @workflow.run
    async def run(self, r: Raise) -> None:
        if r.name == "wait":  # the update test: stay open until the update has answered
            await workflow.wait_condition(lambda: self._probed)
            return
        await workflow.execute_activity_method(RaisingActivities.raise_it, r, **_ONCE)

    @workflow.update
    async def probe(self, r: Raise) -> str:
        try:
            await workflow.execute_activity_method(RaisingActivities.raise_it, r, **_ONCE)
        except Exception as err:
            found = from_failure(err)
            raise (to_failure(found) if found else as_workflow_failure(err)) from None
        finally:
            self._probed = True
        return "ok"


@pytest.fixture(scope="module")
async def probe_queue(temporal_client: Client):  # type: ignore[no-untyped-def]  # async generator fixture
    queue = f"codec-{uuid.uuid4().hex[:6]}"
    async with Worker(
        temporal_client,
        task_queue=queue,
        workflows=[CodecProbe],
        activities=[RaisingActivities().raise_it],
        activity_executor=__import__("concurrent.futures").futures.ThreadPoolExecutor(4),
    ):
        yield queue


def _app(client: Client, queue: str) -> FastAPI:
    """A minimal API with the real error mapping; its routes run the probe workflow."""
    app = FastAPI()
    install(app)

    @app.get("/fail/{name}")
    async def fail(name: str, refined: bool = False) -> dict[str, str]:
        await client.execute_workflow(
            CodecProbe.run,
            Raise(name="" if name == "-" else name, refined=refined),
            id=f"codec:{uuid.uuid4().hex}",
            task_queue=queue,
        )
        return {"ok": "no"}

    @app.get("/update/{name}")
    async def update(name: str) -> dict[str, str]:
        handle = await client.start_workflow(
            CodecProbe.run, Raise(name="wait"), id=f"codec:{uuid.uuid4().hex}", task_queue=queue
        )
        await handle.execute_update(CodecProbe.probe, Raise(name="" if name == "-" else name))
        return {"ok": "no"}

    return app


def test_every_domain_error_has_a_sample_code_and_status() -> None:
    assert set(SAMPLES) == set(registered()), "add a sample for each new DomainError subclass"
    codes = {type(e).__name__: e.code for e in SAMPLES.values()}
    assert len(set(codes.values())) == len(codes), f"codes must be distinct: {codes}"
    assert all(400 <= e.http_status < 600 for e in SAMPLES.values())


@pytest.mark.parametrize("name", sorted(SAMPLES))
async def test_a_domain_error_crosses_temporal_and_http_as_itself(
    name: str, temporal_client: Client, probe_queue: str
) -> None:
    sent = SAMPLES[name]
    # Through Temporal: the client's failure decodes to the same class, code, message and data.
    with pytest.raises(WorkflowFailureError) as failed:
        await temporal_client.execute_workflow(
            CodecProbe.run, Raise(name=name), id=f"codec:{uuid.uuid4().hex}", task_queue=probe_queue
        )
    got = decode(failed.value)
    assert type(got) is type(sent)
    assert (got.code, got.message, got.http_status) == (sent.code, sent.message, sent.http_status)
    if isinstance(sent, OutOfStock):
        assert (got.location_id, got.sku, got.wanted) == (3, "MUG-1", 2)  # type: ignore[attr-defined]  # rebuilt from the failure's data
    # Through HTTP: what the client of the API sees.
    transport = httpx.ASGITransport(app=_app(temporal_client, probe_queue))
    async with httpx.AsyncClient(transport=transport, base_url="http://codec") as http:
        r = await http.get(f"/fail/{name}")
        u = await http.get(f"/update/{name}")
    for answer in (r, u):
        assert answer.status_code == sent.http_status, answer.text
        assert answer.json() == {"error": {"code": sent.code, "message": sent.message}}
    if sent.http_status == 503:
        assert r.headers["Retry-After"] == "1"


async def test_an_instance_code_travels_with_its_class(
    temporal_client: Client, probe_queue: str
) -> None:
    transport = httpx.ASGITransport(app=_app(temporal_client, probe_queue))
    async with httpx.AsyncClient(transport=transport, base_url="http://codec") as http:
        r = await http.get("/fail/Conflict", params={"refined": "true"})
    assert r.status_code == 409
    assert r.json()["error"] == {"code": "wrong_code", "message": "Wrong pickup code."}


async def test_an_unknown_failure_is_503_not_a_refusal(
    temporal_client: Client, probe_queue: str
) -> None:
    """An outage's text (SQL, a stack) never reaches the till as a business refusal."""
    transport = httpx.ASGITransport(app=_app(temporal_client, probe_queue))
    async with httpx.AsyncClient(transport=transport, base_url="http://codec") as http:
        answers = [await http.get("/fail/-"), await http.get("/update/-")]
    for r in answers:
        assert r.status_code == 503
        assert r.headers["Retry-After"] == "1"
        assert r.json()["error"]["code"] == "temporarily_unavailable"
        assert "psycopg" not in r.text and "SSL" not in r.text


def test_update_failure_without_business_error_decodes_to_unavailable() -> None:
    """The decoder never invents a refusal from a failure that does not carry one."""
    plain = WorkflowUpdateFailedError(ApplicationError("worker crashed", type="RuntimeError"))
    assert from_failure(plain) is None
    assert isinstance(decode(plain), TemporarilyUnavailable)
    legacy = ApplicationError("Cart X has expired.", type="Conflict")  # a class name only
    found = from_failure(legacy)
    assert isinstance(found, Conflict) and found.code == "conflict"
