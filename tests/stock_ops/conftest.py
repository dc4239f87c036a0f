"""Stock-operations tests: their own worker on a queue of their own (nothing else polls it), an API
that starts the workflows there, SKUs and managers made per test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from helpers.api import password_login
from sqlalchemy import select
from temporalio.client import Client
from temporalio.worker import Worker

from activities.stock_ops import stock_ops_activities
from api.auth import hash_secret
from db.models import Location, Product, TaxCategory, User, UserLocation, Variant
from db.repositories import stock
from db.session import Database
from tillflow.workers import sandbox_runner
from workflows.adjustment import StockAdjustmentWorkflow
from workflows.goods_receipt import GoodsReceiptWorkflow
from workflows.reorder import ReorderDraftWorkflow
from workflows.variance import ResolveVarianceWorkflow

QUEUE = f"stock-ops-test-{uuid.uuid4().hex[:8]}"
WORKFLOWS = [
    GoodsReceiptWorkflow,
    StockAdjustmentWorkflow,
    ResolveVarianceWorkflow,
    ReorderDraftWorkflow,
]


@pytest.fixture(scope="package")
async def ops_worker(temporal_client: Client, db: Database) -> AsyncIterator[str]:
    """The stock-operations workflows and activities on this package's own task queue."""
    from concurrent.futures import ThreadPoolExecutor

    worker = Worker(
        temporal_client,
        task_queue=QUEUE,
        workflows=WORKFLOWS,
        activities=stock_ops_activities(db),
        activity_executor=ThreadPoolExecutor(max_workers=8),
        workflow_runner=sandbox_runner(),
    )
    async with worker:
        yield QUEUE


@pytest.fixture(scope="package")
async def ops_api(db, temporal_client, test_settings, gateway, ops_worker) -> AsyncIterator[Any]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """The API starting stock operations on the test queue, small approval thresholds."""
    import httpx

    from api.app import create_app

    settings = test_settings.model_copy(
        update={
            "backoffice_task_queue": ops_worker,
            "adjustment_approval_units": 10,
            "adjustment_approval_value": 100_000,
        }
    )
    app = create_app(settings, db=db, client=temporal_client, gateway=gateway, run_worker=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://tillflow.test"
        ) as http,
    ):
        yield http


def _user(db: Database, role: str, locations: tuple[str, ...], permissions: list[str]) -> str:
    name = f"{role}-{uuid.uuid4().hex[:8]}"
    with db.unit_of_work() as s:
        user = User(
            username=name,
            display_name=name.title(),
            role=role,
            password_hash=hash_secret("stock-ops-test-pw"),
            permissions=permissions,
        )
        s.add(user)
        s.flush()
        for code in locations:
            loc = s.scalar(select(Location).where(Location.code == code))
            assert loc is not None
            s.add(UserLocation(user_id=user.id, location_id=loc.id))
    return name


@dataclass
class Staff:
    manager: dict[str, str]  # BER manager with the catalogue permission (asks)
    approver: dict[str, str]  # a second BER manager (decides)
    lisbon: dict[str, str]  # a manager of LIS only
    cashier: dict[str, str]
    admin: dict[str, str]


@pytest.fixture(scope="package")
async def staff(ops_api, db: Database) -> Staff:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    async def login(name: str) -> dict[str, str]:
        return await password_login(ops_api, name, "stock-ops-test-pw")

    return Staff(
        manager=await login(_user(db, "manager", ("BER",), ["catalog"])),
        approver=await login(_user(db, "manager", ("BER",), [])),
        lisbon=await login(_user(db, "manager", ("LIS",), [])),
        cashier=await login(_user(db, "cashier", ("BER",), [])),
        admin=await password_login(ops_api, "admin", "admin-demo"),
    )


def new_sku(db: Database, *, cost: int | None = None, name: str = "Stock-ops test item") -> str:
    """A fresh single-variant product (unique SKU), optionally with a cost price in EUR."""
    sku = f"SO-{uuid.uuid4().hex[:10].upper()}"
    with db.unit_of_work() as s:
        tax = s.scalar(select(TaxCategory).where(TaxCategory.code == "standard"))
        assert tax is not None
        product = Product(
            code=sku,
            name=name,
            category="general",
            tax_category_id=tax.id,
            cost_price=cost,
            cost_currency="EUR" if cost is not None else None,
        )
        s.add(product)
        s.flush()
        s.add(Variant(product_id=product.id, sku=sku, name="", attributes={}))
    return sku


def put_stock(
    db: Database, location: str, sku: str, quantity: int, *, bucket: str = "sellable"
) -> None:
    """Stock for a test, through the ledger like everything else."""
    with db.unit_of_work() as s:
        loc = s.scalar(select(Location).where(Location.code == location))
        assert loc is not None
        from datetime import UTC, datetime

        stock.apply_movements(
            s,
            loc.id,
            [
                stock.Movement(
                    sku, quantity, "opening_balance", "test", f"test:{uuid.uuid4().hex}", bucket
                )
            ],
            workflow_id=None,
            occurred_at=datetime.now(UTC),
        )


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


@dataclass
class Kit:
    """The helpers above as a fixture (test modules do not import conftest)."""

    db: Database
    api: Any
    staff: Staff
    queue: str

    def sku(self, *, cost: int | None = None) -> str:
        return new_sku(self.db, cost=cost)

    def stock(self, location: str, sku: str, quantity: int, *, bucket: str = "sellable") -> None:
        put_stock(self.db, location, sku, quantity, bucket=bucket)

    @staticmethod
    def key() -> dict[str, str]:
        return key()


@pytest.fixture
def kit(db: Database, ops_api, staff: Staff, ops_worker: str) -> Kit:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    return Kit(db=db, api=ops_api, staff=staff, queue=ops_worker)
