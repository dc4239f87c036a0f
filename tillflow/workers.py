"""Worker assembly: which workflows and activities each process runs."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.receipts import ReceiptActivities
from activities.replay import ReplayActivities
from activities.sale import SaleActivities
from activities.tenders import TenderActivities
from db.session import Database
from integrations.payments import PaymentGateway
from tillflow.adapters import reader_factory
from workflows.contracts import SALES_TASK_QUEUE
from workflows.receipt import ReprintWorkflow
from workflows.replay import OfflineReplayWorkflow
from workflows.sale import SaleWorkflow

# Our own non-workflow modules and heavy libraries are loaded once, outside the sandbox:
# re-importing them for every workflow run costs milliseconds of CPU per sale.
PASSTHROUGH = ("activities", "db", "domain", "sqlalchemy", "psycopg", "pydantic", "workflows.contracts",
               "workflows.policies")


def sandbox_runner() -> SandboxedWorkflowRunner:
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH)
    )


def sale_activities(db: Database, gateway: PaymentGateway, tenders: TenderActivities | None = None) -> list[object]:
    """The Sale and Reprint workflows' activities; `tenders` lets tests inject a crash hook."""
    sale = SaleActivities(db)
    receipts = ReceiptActivities(db)
    money = tenders or TenderActivities(db, gateway, reader_factory(db, gateway))
    return [
        sale.price,
        sale.commit_stock,
        sale.restore_stock,
        sale.issue_gift_cards,
        sale.record_order,
        receipts.build,
        money.cash,
        money.balance,
        money.card,
        money.capture_cards,
        money.void_all,
        *replay_activities(db),
    ]


def replay_activities(db: Database) -> list[object]:
    """OfflineReplay's activities; offline card capture joins when the payment adapter provides one."""
    replay = ReplayActivities(db)
    return [replay.receive, replay.capture_card, replay.record_outcome]


def sales_worker(
    client: Client,
    db: Database,
    gateway: PaymentGateway,
    *,
    activities: list[object] | None = None,
    task_queue: str = SALES_TASK_QUEUE,
    max_threads: int = 16,
) -> Worker:
    """Sale and reprint workflows with their local activities, on the sales queue."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[SaleWorkflow, ReprintWorkflow, OfflineReplayWorkflow],
        activities=activities if activities is not None else sale_activities(db, gateway),
        activity_executor=ThreadPoolExecutor(max_workers=max_threads),
        workflow_runner=sandbox_runner(),
        max_concurrent_local_activities=max_threads,
    )
