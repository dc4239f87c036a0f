"""Carrier labels go to the FileStore (PostgreSQL by default, S3 when configured), never a
container's disk, and the API serves them from there to staff of the store that packed them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fake_s3 import FakeS3
from helpers.api import own_api, password_login, till_login
from temporalio.testing import ActivityEnvironment

from activities.shipping import ShippingActivities
from contracts.fulfilment import BuyLabel, ParcelOut
from db.repositories import files as files_repo
from db.repositories import fulfilment, staff_admin
from db.session import Database
from integrations.carrier import LocalCarrier
from integrations.files import (
    FileStore,
    PostgresFileStore,
    S3FileStore,
    S3WithPostgresFallback,
    key_of,
    s3_client,
)


def test_the_repository_keeps_the_first_file_per_key(db: Database) -> None:
    key = f"test/{uuid.uuid4().hex}.bin"
    with db.unit_of_work() as s:
        first = files_repo.put(s, key, b"one", "application/octet-stream")
        again = files_repo.put(s, key, b"two", "application/octet-stream")
    assert first.content == again.content == b"one" and first.size == 3
    with db.unit_of_work() as s:
        assert files_repo.get(s, key) is not None
        assert files_repo.remove(s, key) and files_repo.get(s, key) is None


def _buy(db: Database, files: FileStore, labels_dir: Path, fmt: str = "pdf") -> ParcelOut:
    """Run the label activity for a fresh pack task at BER."""
    run = uuid.uuid4().hex[:10]
    with db.unit_of_work() as s:
        ber = staff_admin.location_ids_for_codes(s, ["BER"])["BER"]
        task = fulfilment.create_task(
            s,
            fulfilment.NewTask(
                key=f"deploy-{run}:pack",
                location_id=ber,
                kind="pack",
                workflow_id=f"deploy-{run}",
                order_workflow_id=f"deploy-order-{run}",
                order_number=f"DEP-{run}",
                lines=[],
                due_at=datetime.now(UTC),
            ),
        )
    acts = ShippingActivities(db, LocalCarrier(labels_dir, fmt), files)
    out: ParcelOut = ActivityEnvironment().run(
        acts.buy_label,
        BuyLabel(
            key=f"deploy-{run}:parcel:1",
            workflow_id=f"deploy-{run}",
            location_id=ber,
            task_id=task.id,
            order_number=f"DEP-{run}",
            ship_from="tillflow Berlin",
            ship_to_name="Ada Customer",
            ship_to_country="DE",
            weight_g=1200,
            length_cm=30,
            width_cm=20,
            height_cm=10,
        ),
    )
    return out


async def test_a_label_is_stored_in_postgresql_and_served_from_there(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db: Database, temporal_client, test_settings, gateway, tmp_path: Path
) -> None:
    labels_dir = tmp_path / "labels"
    parcel = _buy(db, PostgresFileStore(db), labels_dir)
    key = key_of(parcel.label_path)
    assert key == f"labels/{parcel.tracking_number}.pdf"
    assert not labels_dir.exists()  # nothing on the worker's disk
    with db.unit_of_work() as s:
        stored = files_repo.get(s, key)
    assert stored is not None and stored.content.startswith(b"%PDF-1.4")
    assert stored.media_type == "application/pdf"

    async with own_api(test_settings, db=db, client=temporal_client, gateway=gateway) as at:
        api = at("10.9.0.1")
        finn = await password_login(api, "finn", "fulfil-demo")
        got = await api.get(f"/fulfilment/BER/labels/{parcel.tracking_number}", headers=finn)
        assert got.status_code == 200, got.text
        assert got.content == stored.content
        assert got.headers["content-type"] == "application/pdf"
        assert f'filename="{parcel.tracking_number}.pdf"' in got.headers["content-disposition"]
        # Another store's URL does not find it; a cashier may not print labels; nobody anonymous.
        lis = await api.get(f"/fulfilment/LIS/labels/{parcel.tracking_number}", headers=finn)
        assert lis.status_code == 404
        mia = await password_login(api, "mia", "manager-demo")  # a manager of the store
        assert (
            await api.get(f"/fulfilment/BER/labels/{parcel.tracking_number}", headers=mia)
        ).status_code == 200
        carl = await till_login(api)  # a cashier at BER1
        assert (
            await api.get(f"/fulfilment/BER/labels/{parcel.tracking_number}", headers=carl)
        ).status_code == 403
        assert (
            await api.get(f"/fulfilment/BER/labels/{parcel.tracking_number}")
        ).status_code == 401


@pytest.fixture
def fake_s3() -> Iterator[FakeS3]:
    server = FakeS3("tillflow-files", "AKIAFAKE" + uuid.uuid4().hex[:8].upper()).start()
    yield server
    server.stop()


def _s3(fake: FakeS3, access_key_id: str | None = None) -> S3FileStore:
    client: Any = s3_client(
        endpoint_url=fake.url,
        region="eu-central-1",
        access_key_id=access_key_id or fake.access_key_id,
        secret_access_key="fake-secret",
    )
    return S3FileStore(client, fake.bucket, "shop-a/")


def test_the_s3_store_puts_and_gets_in_s3s_shapes(fake_s3: FakeS3) -> None:
    store = _s3(fake_s3)
    assert store.put("labels/X1.zpl", b"^XA^XZ", "application/x-zpl") == "files:labels/X1.zpl"
    assert fake_s3.objects["shop-a/labels/X1.zpl"] == (b"^XA^XZ", "application/x-zpl")
    blob = store.get("labels/X1.zpl")
    assert blob is not None and blob.content == b"^XA^XZ" and blob.media_type == "application/x-zpl"
    assert store.get("labels/none.pdf") is None  # NoSuchKey
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError, match="InvalidAccessKeyId"):
        _s3(fake_s3, "AKIAWRONG").get("labels/X1.zpl")


async def test_with_a_bucket_configured_labels_go_to_s3_and_the_api_reads_them_there(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db: Database, temporal_client, test_settings, gateway, fake_s3: FakeS3, tmp_path: Path
) -> None:
    from pydantic import SecretStr

    s3 = {
        "files_s3_bucket": fake_s3.bucket,
        "files_s3_prefix": "shop-a/",
        "files_s3_endpoint_url": fake_s3.url,
        "files_s3_region": "eu-central-1",
        "files_s3_access_key_id": fake_s3.access_key_id,
        "files_s3_secret_access_key": SecretStr("fake-secret"),
    }
    from tillflow.files import file_store_for

    store = file_store_for(test_settings.model_copy(update=s3), db)
    assert isinstance(store, S3WithPostgresFallback)
    older = _buy(db, PostgresFileStore(db), tmp_path / "labels")  # before the bucket was set
    parcel = _buy(db, store, tmp_path / "labels", "zpl")
    key = key_of(parcel.label_path)
    assert key is not None and f"shop-a/{key}" in fake_s3.objects
    with db.unit_of_work() as s:
        assert files_repo.get(s, key) is None  # not in PostgreSQL
    async with own_api(test_settings, db=db, client=temporal_client, gateway=gateway, **s3) as at:
        api = at("10.9.0.2")
        finn = await password_login(api, "finn", "fulfil-demo")
        got = await api.get(f"/fulfilment/BER/labels/{parcel.tracking_number}", headers=finn)
        assert got.status_code == 200, got.text
        assert got.content.startswith(b"^XA") and got.headers["content-type"] == "application/x-zpl"
        # A label stored in PostgreSQL before the switch is still served.
        old = await api.get(f"/fulfilment/BER/labels/{older.tracking_number}", headers=finn)
        assert old.status_code == 200 and old.content.startswith(b"%PDF")
