"""Customer-message tests: the SMTP server and FakeSms, the message worker on a task queue of its
own (its drain only sends this package's stores' messages: the database is the whole suite's), and
an API starting the message workflows there."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from helpers.api import own_api, password_login
from helpers.catalog import make_user
from temporalio.client import Client
from temporalio.worker import Worker

from activities.messages import message_activities
from contracts.messages import MessageConfig
from db.session import Database
from integrations.email_smtp import SmtpConfig, SmtpEmailSender
from integrations.sms import TwilioConfig, TwilioSms
from tests.messages.message_kit import (
    SMTP_PASSWORD,
    SMTP_USER,
    TWILIO_FROM,
    TWILIO_SID,
    TWILIO_TOKEN,
    Clock,
    FakeSms,
    SmtpServer,
    make_store,
    start_smtp,
)
from tillflow.workers import sandbox_runner
from workflows.messages import EmailReceiptWorkflow, MessageDrainWorkflow, MessageRetryWorkflow

QUEUE = f"test-messages-{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Stores:
    de: str  # a store in Germany (messages in German)
    pt: str  # in Portugal (Portuguese)
    us: str  # in the US (English, the fall-back)


@pytest.fixture(scope="package")
def smtp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmtpServer]:
    server = start_smtp(tmp_path_factory.mktemp("smtp"))
    yield server
    server.stop()


@pytest.fixture(scope="package")
def sms() -> FakeSms:
    return FakeSms()


@pytest.fixture(scope="package")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="package")
def stores(db: Database) -> Stores:
    return Stores(
        de=make_store(db, "DE", "Europe/Berlin", "Laden Mitte"),
        pt=make_store(db, "PT", "Europe/Lisbon", "Loja Chiado"),
        us=make_store(db, "US", "America/New_York", "Shop Soho"),
    )


@pytest.fixture(scope="package")
async def message_worker(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    temporal_client: Client, db: Database, smtp: SmtpServer, sms: FakeSms, clock: Clock, stores
) -> AsyncIterator[str]:
    email = SmtpEmailSender(
        SmtpConfig(
            host="127.0.0.1",
            port=smtp.port,
            tls="starttls",
            username=SMTP_USER,
            password=SMTP_PASSWORD,
            from_address="shop@tillflow.test",
            from_name="Tillflow Shop",
            timeout_s=10,
            validate_certs=False,  # the test server's certificate is self-signed
        )
    )
    texts = TwilioSms(
        TwilioConfig(account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN, from_number=TWILIO_FROM),
        transport=sms.transport,
    )
    config = MessageConfig(
        max_attempts=3,
        backoff_base_s=30,
        backoff_cap_s=600,
        claim_lease_s=120,
        stores=(stores.de, stores.pt, stores.us),
    )
    worker = Worker(
        temporal_client,
        task_queue=QUEUE,
        workflows=[MessageDrainWorkflow, MessageRetryWorkflow, EmailReceiptWorkflow],
        activities=message_activities(db, email, texts, config, clock),
        activity_executor=ThreadPoolExecutor(max_workers=4),
        workflow_runner=sandbox_runner(),
    )
    async with worker:
        yield QUEUE


@pytest.fixture(scope="package")
async def messages_api(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db: Database, temporal_client: Client, test_settings, gateway, message_worker: str
):
    async with own_api(
        test_settings,
        db=db,
        client=temporal_client,
        gateway=gateway,
        messages_task_queue=message_worker,
    ) as at:
        yield at("127.0.0.1")


async def login(http, db: Database, role: str, stores: tuple[str, ...]) -> dict[str, str]:  # type: ignore[no-untyped-def]  # httpx client
    user, pw = make_user(db, role, [], stores)
    return await password_login(http, user, pw)
