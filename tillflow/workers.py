"""Worker assembly: which workflows and activities each process runs."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.receipts import ReceiptActivities
from activities.sale import SaleActivities
from db.session import Database
from workflows.contracts import SALES_TASK_QUEUE
from workflows.receipt import ReprintWorkflow
from workflows.sale import SaleWorkflow

# Our own non-workflow modules and heavy libraries are loaded once, outside the sandbox:
# re-importing them for every workflow run costs milliseconds of CPU per sale.
PASSTHROUGH = ("activities", "db", "domain", "sqlalchemy", "psycopg", "pydantic", "workflows.contracts",
               "workflows.policies")


def sandbox_runner() -> SandboxedWorkflowRunner:
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH)
    )


def sale_activities(db: Database) -> list[object]:
    sale = SaleActivities(db)
    receipts = ReceiptActivities(db)
    return [
        sale.price,
        sale.commit_stock,
        sale.restore_stock,
        sale.record_tenders,
        sale.void_tenders,
        sale.record_order,
        receipts.build,
    ]


def sales_worker(
    client: Client,
    db: Database,
    *,
    activities: list[object] | None = None,
    task_queue: str = SALES_TASK_QUEUE,
    max_threads: int = 16,
) -> Worker:
    """Sale and reprint workflows with their local activities, on the sales queue."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[SaleWorkflow, ReprintWorkflow],
        activities=activities if activities is not None else sale_activities(db),
        activity_executor=ThreadPoolExecutor(max_workers=max_threads),
        workflow_runner=sandbox_runner(),
        max_concurrent_local_activities=max_threads,
    )
