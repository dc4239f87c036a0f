"""Every route, fuzzed from the app's own OpenAPI schema (schemathesis on Hypothesis): no input,
well-formed or not, from any caller, is ever answered with a 5xx, and every JSON refusal has the
one error shape.

Each generated request is sent as every role (cashier, manager, fulfilment, finance, admin) and
once as generated (no or a garbage token). Half of the examples name a real till, store, web store
or cart in their path, so the requests get past the 404s into the routes' own logic.

The fuzzing runs on a stack of its own (a database seeded like the suite's, a Temporal dev server
with the sale, web-store and fulfilment workers), so whatever it changes (store hours, card
policies, carts, sign-in throttles) touches no other test. The examples per route are capped and
derandomized: the same requests in every run, within about a minute.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import traceback
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers.api import password_login, till_login
from helpers.webstore import connect
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import openapi
from schemathesis.core.result import Ok
from schemathesis.generation import GenerationMode
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.auth import hash_secret
from db import migrate
from db.seed import demo_skus, seed_demo
from db.session import Database
from tillflow.adapters import storefront_factory
from tillflow.payloads import DATA_CONVERTER
from tillflow.temporal import SEARCH_ATTRIBUTE_KEYS
from tillflow.workers import fulfilment_worker, webstore_worker

BIN = Path(sys.executable).parent
EXAMPLES_PER_ROUTE = 5  # x 6 callers over the ~150 operations: ~4,500 requests, about a minute
REQUEST_TIMEOUT_S = 30.0
ROLES = ("as-generated", "cashier", "manager", "fulfilment", "finance", "admin")
# Sent only as generated: with a real token it would sign the fuzzer's own callers out.
AS_GENERATED_ONLY = {("POST", "/auth/logout")}


@dataclass
class Stack:
    http: httpx.AsyncClient
    loop: asyncio.AbstractEventLoop
    schema: dict[str, Any]  # the app's OpenAPI document
    callers: dict[str, dict[str, str]]
    known: dict[str, str]  # path parameter -> a value that exists
    known_by_path: dict[tuple[str, str], str]


@pytest.fixture(scope="module")
async def stack(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    scratch_database, gateway, test_settings, tmp_path_factory
) -> AsyncIterator[Stack]:
    url = scratch_database("tillflow_fuzz")
    migrate.upgrade(url)
    db = Database(url)
    with db.unit_of_work() as s:
        seed_demo(
            s,
            hash_secret=hash_secret,
            receipts_dir=tmp_path_factory.mktemp("fuzz-receipts"),
            shifts_required=False,
        )
    settings_ = test_settings.model_copy(update={"var_dir": tmp_path_factory.mktemp("fuzz-var")})
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"),
        search_attributes=SEARCH_ATTRIBUTE_KEYS,
        data_converter=DATA_CONVERTER,
        dev_server_log_level="error",
    )
    workers = [
        webstore_worker(env.client, db, gateway, storefront_factory(db, settings_)),
        fulfilment_worker(env.client, db, settings_),
    ]
    tasks = [asyncio.create_task(w.run()) for w in workers]
    app = create_app(settings_, db=db, client=env.client, gateway=gateway, run_worker=True)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)  # an unhandled error is raised, not a 500
            async with httpx.AsyncClient(
                transport=transport, base_url="http://tillflow.test"
            ) as http:
                key = f"sfk_fuzz_{uuid.uuid4().hex}"
                web = connect(db, "web", storefront_key=key)
                shop, woo = connect(db, "shopify"), connect(db, "woocommerce")
                cart = await http.post(
                    "/storefront/carts", json={}, headers={"x-storefront-key": key}
                )
                assert cart.status_code in (200, 201), cart.text
                callers = {
                    "cashier": await till_login(http),
                    "manager": await password_login(http, "mia", "manager-demo"),
                    "fulfilment": await password_login(http, "finn", "fulfil-demo"),
                    "finance": await password_login(http, "fiona", "finance-demo"),
                    "admin": await password_login(http, "admin", "admin-demo"),
                }
                for headers in callers.values():
                    headers["x-storefront-key"] = key
                yield Stack(
                    http=http,
                    loop=asyncio.get_running_loop(),
                    schema=app.openapi(),
                    callers=callers,
                    known={
                        "till": "BER1",
                        "store": "BER",
                        "shop": shop.code,
                        "cart_id": cart.json()["cart_id"],
                        "sku": demo_skus()[0],
                    },
                    known_by_path={
                        ("/webhooks/woocommerce/{store}", "store"): woo.code,
                        ("/webstores/{code}", "code"): web.code,
                    },
                )
    finally:
        for w in workers:
            await w.shutdown()
        await asyncio.gather(*tasks, return_exceptions=True)
        await env.shutdown()
        db.dispose()


def _header_bytes(value: Any) -> bytes:
    text = str(value)
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode()


def _request(kwargs: dict[str, Any], caller: dict[str, str] | None) -> dict[str, Any]:
    """The case (as schemathesis' transport arguments) as httpx keyword arguments, with the
    caller's token (and storefront key)."""
    headers = {k: v for k, v in (kwargs.get("headers") or {}).items() if not k.startswith("X-Sch")}
    if caller is not None:
        names = {n.lower() for n in caller}
        headers = {k: v for k, v in headers.items() if k.lower() not in names} | caller
    out: dict[str, Any] = {
        "method": kwargs["method"],
        "url": kwargs["url"],
        "params": kwargs.get("params") or None,
        "headers": [(k.encode(), _header_bytes(v)) for k, v in headers.items()],
    }
    if "json" in kwargs:
        out["content"] = json.dumps(kwargs["json"]).encode()
    elif isinstance(kwargs.get("data"), bytes | str):
        out["content"] = kwargs["data"]
    elif kwargs.get("data") is not None:
        out["data"] = kwargs["data"]
    return out


# Path parameters: as generated, or the names of a real till, store, web store, cart (past the
# 404s, into the routes' own logic), or an id one past what a 32- or 64-bit column holds.
NAMES = st.sampled_from([None, "real", "real", 2**31, 2**63])
# One example in two gets a control character (or, in a JSON body, a lone surrogate) added to one
# of its strings: every route must then refuse it with the guard's 422, whoever asks.
POISONS = st.sampled_from(
    [None, None, None, None, None]
    + [("path", "\x00"), ("query", "\x00"), ("query", "\x1b"), ("path", "\x85")]
    + [("body", "\x00"), ("body", "\ud800")]
)


def _add_to_first_string(value: Any, char: str) -> tuple[Any, bool]:
    if isinstance(value, str):
        return value + char, True
    if isinstance(value, dict):
        for key, child in value.items():
            new, done = _add_to_first_string(child, char)
            if done:
                return {**value, key: new}, True
    if isinstance(value, list):
        for i, child in enumerate(value):
            new, done = _add_to_first_string(child, char)
            if done:
                return [*value[:i], new, *value[i + 1 :]], True
    return value, False


def _add_to_first_query_value(query: dict[str, Any], char: str) -> tuple[dict[str, Any], bool]:
    """The query with the char added to its first string value (or string in a list value).
    A nested object is sent as its Python repr (httpx str()s it), where the char would arrive
    escaped, not as itself: such values are left alone."""
    for name, value in query.items():
        if isinstance(value, str):
            return {**query, name: value + char}, True
        if isinstance(value, list) and value and isinstance(value[0], str):
            return {**query, name: [value[0] + char, *value[1:]]}, True
    return query, False


def _poisoned(case: Any, poison: tuple[str, str] | None) -> tuple[dict[str, Any], bool]:
    """The case's transport arguments with the poison added to the first string of that part,
    and whether there was one."""
    part, char = poison or ("", "")
    if part == "path" and case.path_parameters:
        # schemathesis keeps path parameters percent-encoded, as they go into the URL
        encoded = "".join(f"%{b:02X}" for b in char.encode())
        case.path_parameters, done = _add_to_first_string(dict(case.path_parameters), encoded)
    elif part == "query" and case.query:
        case.query, done = _add_to_first_query_value(dict(case.query), char)
    else:
        done = False
    kwargs = case.as_transport_kwargs(base_url="http://tillflow.test")
    if part == "body" and isinstance(kwargs.get("json"), dict | list):
        kwargs["json"], done = _add_to_first_string(kwargs["json"], char)
    return kwargs, done


def _problem(response: httpx.Response) -> str | None:
    """What is wrong with an answer: a 5xx, or a JSON refusal not in the one error shape."""
    if response.status_code >= 500:
        return f"{response.status_code}: {response.text[:500]}"
    if response.status_code >= 400 and response.headers.get("content-type", "").startswith(
        "application/json"
    ):
        error = response.json().get("error") if isinstance(response.json(), dict) else None
        if not (
            isinstance(error, dict)
            and isinstance(error.get("code"), str)
            and isinstance(error.get("message"), str)
        ):
            return f"{response.status_code} not in the error shape: {response.text[:300]}"
    return None


def _fuzz_operation(stack: Stack, operation: Any) -> None:
    """Run one operation's examples (in a worker thread; the app runs on the test's loop)."""
    strategy = st.one_of(
        operation.as_strategy(),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )
    roles = ROLES[:1] if (operation.method.upper(), operation.path) in AS_GENERATED_ONLY else ROLES

    @settings(
        max_examples=EXAMPLES_PER_ROUTE,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @given(case=strategy, names=NAMES, poison=POISONS)
    def run(case: Any, names: str | int | None, poison: tuple[str, str] | None) -> None:
        if names == "real" and case.path_parameters:
            case.path_parameters = {
                name: stack.known_by_path.get((operation.path, name), stack.known.get(name, value))
                for name, value in case.path_parameters.items()
            }
        elif isinstance(names, int) and case.path_parameters:  # ids just past INTEGER, BIGINT
            case.path_parameters = {
                name: str(names) if re.fullmatch(r"-?[0-9]+", str(value)) else value
                for name, value in case.path_parameters.items()
            }
        base, poisoned = _poisoned(case, poison)
        for role in roles:
            kwargs = _request(base, stack.callers.get(role))
            future = asyncio.run_coroutine_threadsafe(stack.http.request(**kwargs), stack.loop)
            asked = f"as {role}: {kwargs['method']} {kwargs['url']} {kwargs.get('params') or ''}"
            try:
                response = future.result(timeout=REQUEST_TIMEOUT_S)
            except Exception as err:  # noqa: BLE001 - the app's own unhandled error (a 500)
                detail = "".join(traceback.format_exception_only(err)).strip()[:800]
                body = repr(kwargs.get("content") or kwargs.get("data"))[:300]
                raise AssertionError(f"{asked} body={body} -> unhandled {detail}") from None
            problem = _problem(response)
            assert problem is None, f"{asked} -> {problem}"
            if poisoned:
                assert response.status_code == 422, f"{asked} with {poison!r} -> {response.text}"

    run()


async def test_no_route_answers_any_input_with_a_5xx(stack: Stack) -> None:
    results = list(openapi.from_dict(stack.schema).get_all_operations())
    operations = [r.ok() for r in results if isinstance(r, Ok)]
    assert len(operations) == len(results) > 50  # every route of the app, each one readable

    def fuzz_all() -> list[str]:
        failures = []
        for operation in operations:
            try:
                _fuzz_operation(stack, operation)
            except Exception as err:  # noqa: BLE001 - collect every route's failure, then report
                last = "".join(traceback.format_exception_only(err)).strip()
                failures.append(f"{operation.method.upper()} {operation.path}: {last[:1500]}")
        return failures

    failures = await asyncio.to_thread(fuzz_all)
    assert not failures, "\n\n".join(failures)
