"""Worker assembly: which workflows and activities each process runs."""

from __future__ import annotations

import compileall
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

import contracts.stock_sync as stock_sync
import workflows
from activities.cash_sale import CashSaleActivities
from activities.fiscal import FiscalActivities
from activities.receipts import ReceiptActivities
from activities.refunds import RefundActivities
from activities.replay import ReplayActivities
from activities.replay_shift import offline_shift_activities
from activities.returns import ReturnActivities
from activities.sale import SaleActivities
from activities.shifts import shift_activities
from activities.tenders import TenderActivities
from activities.till_devices import till_devices_activities
from contracts.common import (
    CENTRAL_TASK_QUEUE,
    FULFILMENT_TASK_QUEUE,
    SALES_TASK_QUEUE,
    WEB_TASK_QUEUE,
)
from db.session import Database
from domain.catalog_sync import Ownership
from domain.loyalty import LoyaltyRules
from domain.returns import ReturnPolicy
from integrations.payments import PaymentGateway
from integrations.storefront import Storefront
from integrations.stripe_gateway import StripeGateway
from integrations.stripe_offline import StripeOfflineCapturer
from tillflow.adapters import reader_factory
from tillflow.settings import Settings
from workflows.fiscal_catch_up import FiscalCatchUpWorkflow
from workflows.receipt import ReprintWorkflow
from workflows.replay import OfflineReplayWorkflow
from workflows.returns import ReturnWorkflow
from workflows.sale import SaleWorkflow
from workflows.shift import ShiftWorkflow
from workflows.till_devices import TillDevicesWorkflow

# Our own non-workflow modules and heavy libraries are loaded once, outside the sandbox:
# re-importing them for every workflow run costs milliseconds of CPU per sale.
PASSTHROUGH = (
    "activities",
    "db",
    "domain",
    "sqlalchemy",
    "psycopg",
    "pydantic",
    "workflows.contracts",
    "workflows.policies",
)


@functools.cache
def write_bytecode(directory: str | Path) -> bool:
    """Write the bytecode of the workflow modules in `directory` (not its subfolders).

    The sandbox imports a workflow's module afresh for every workflow run. Where
    PYTHONDONTWRITEBYTECODE is set (our Dockerfile, many CI images) nothing caches that module's
    bytecode, so every sale compiled workflows/sale.py again: ~5 ms of CPU each. Python reads
    bytecode whatever that variable says, so writing it once here is enough; stale files are
    rewritten, and a read-only directory only stays slow (False)."""
    return bool(compileall.compile_dir(str(directory), maxlevels=0, quiet=2))


def sandbox_runner() -> SandboxedWorkflowRunner:
    """The workflow sandbox with our passthrough modules, over precompiled workflow modules."""
    write_bytecode(Path(workflows.__file__).parent)
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH)
    )


def sale_activities(
    db: Database,
    gateway: PaymentGateway,
    tenders: TenderActivities | None = None,
    policy: ReturnPolicy | None = None,
    refunds: RefundActivities | None = None,
    fiscal: FiscalActivities | None = None,
) -> list[Callable[..., Any]]:
    """The till workflows' activities; `tenders` / `refunds` let tests inject a crash hook,
    `fiscal` a signer of their own."""
    sale = SaleActivities(db)
    cash_sale = CashSaleActivities(db)
    receipts = ReceiptActivities(db)
    money = tenders or TenderActivities(
        db, gateway, reader_factory(db, gateway), points_rules=points_rules()
    )
    return [
        cash_sale.checkout,
        sale.price,
        sale.commit_stock,
        sale.restore_stock,
        sale.issue_gift_cards,
        sale.record_order,
        sale.record_approval,
        sale.take_promotions,
        sale.release_promotions,
        receipts.build,
        money.cash,
        money.balance,
        money.card,
        money.offline_card,
        money.capture_cards,
        money.void_all,
        *replay_activities(db, gateway),
        *return_activities(db, gateway, policy or ReturnPolicy(), refunds),
        *till_devices_activities(db),
        *shift_activities(db),
        *offline_shift_activities(db),  # an offline till's journaled shift close
        *loyalty_points(db),  # earned by a completed sale, taken back by a return
        *fiscal_signing(db, fiscal),  # the signing step of Sale, Return, Shift (issue 20)
    ]


def fiscal_signing(
    db: Database, fiscal: FiscalActivities | None = None
) -> list[Callable[..., Any]]:
    """The fiscal signing activities (issue 20), with the signers of the deployment's settings."""
    if fiscal is None:
        from tillflow.adapters import fiscal_signers
        from tillflow.settings import get_settings

        settings = get_settings()
        fiscal = FiscalActivities(
            db, fiscal_signers(settings, db), till_wait_s=settings.fiscal_till_wait_s
        )
    return [fiscal.sign_document, fiscal.complete_pending, fiscal.pending_locations]


def loyalty_points(db: Database) -> list[Callable[..., Any]]:
    """The loyalty activities, with the rules of the deployment's settings."""
    from activities.loyalty import loyalty_activities

    return loyalty_activities(db, points_rules())


def points_rules() -> LoyaltyRules:
    """What a point earns and is worth, from the deployment's settings (tenders pay with them)."""
    from domain.loyalty import rules_from_config
    from tillflow.settings import get_settings

    return rules_from_config(get_settings())


def points_expiry() -> int:
    """Months before points given back by a refund expire (as earned points do)."""
    from tillflow.settings import get_settings

    return get_settings().loyalty_expiry_months


def return_activities(
    db: Database,
    gateway: PaymentGateway,
    policy: ReturnPolicy,
    refunds: RefundActivities | None = None,
) -> list[Callable[..., Any]]:
    """The Return workflow's activities, with refunds to the original tenders."""
    ret = ReturnActivities(db, policy)
    money = refunds or RefundActivities(db, gateway, points_expiry_months=points_expiry())
    return [
        ret.assess,
        ret.claim,
        ret.release,
        ret.store_credit,
        ret.dispose,
        ret.complete,
        ret.receipt,
        money.to_original_tenders,
    ]


def replay_activities(db: Database, gateway: PaymentGateway) -> list[Callable[..., Any]]:
    """OfflineReplay's activities; stored offline card payments are captured through Stripe."""
    capturer = StripeOfflineCapturer(gateway) if isinstance(gateway, StripeGateway) else None
    replay = ReplayActivities(db, capturer)
    return [replay.receive, replay.capture_card, replay.online_attempt, replay.record_outcome]


def sales_worker(
    client: Client,
    db: Database,
    gateway: PaymentGateway,
    *,
    activities: list[Callable[..., Any]] | None = None,
    task_queue: str = SALES_TASK_QUEUE,
    max_threads: int = 16,
    policy: ReturnPolicy | None = None,
    sandbox_all: bool = False,
) -> Worker:
    """Sale and reprint workflows with their local activities, on the sales queue.

    The Sale workflow runs outside the sandbox (see workflows/sale.py); `sandbox_all` puts it back
    in, for the test that holds it to the sandbox's rules."""
    runner = sandbox_runner()
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[
            SaleWorkflow,
            ReprintWorkflow,
            OfflineReplayWorkflow,
            ReturnWorkflow,
            TillDevicesWorkflow,
            ShiftWorkflow,
            FiscalCatchUpWorkflow,
        ],
        activities=activities
        if activities is not None
        else sale_activities(db, gateway, policy=policy),
        activity_executor=ThreadPoolExecutor(max_workers=max_threads),
        workflow_runner=runner,
        unsandboxed_workflow_runner=runner if sandbox_all else UnsandboxedWorkflowRunner(),
        max_concurrent_local_activities=max_threads,
    )


# ---- the web-store link: online orders, carts, stock sync ----------------------------------------


def webstore_activities(
    db: Database,
    gateway: PaymentGateway,
    storefronts: Callable[[str], Storefront | None],
    fulfilment_queue: str = FULFILMENT_TASK_QUEUE,
    ownership: Ownership | None = None,
    transfer_queue: str = CENTRAL_TASK_QUEUE,
) -> list[Callable[..., Any]]:
    """OnlineOrder, Cart, StockSync and CatalogSync activities (plus the card capture / void /
    refund they reuse)."""
    from activities.carts import CartActivities
    from activities.online_order import OnlineOrderActivities
    from activities.online_payments import OnlinePaymentActivities
    from activities.stock_sync import StockSyncActivities
    from activities.web_store_notices import WebStoreNoticeActivities

    order = OnlineOrderActivities(db, fulfilment_queue, transfer_queue)
    pay = OnlinePaymentActivities(db, gateway, points_rules=points_rules())
    money = TenderActivities(db, gateway, reader_factory(db, gateway), points_rules=points_rules())
    cart = CartActivities(db)
    sync = StockSyncActivities(db, storefronts)
    notices = WebStoreNoticeActivities(storefronts)
    return [
        *catalog_sync_activities(db, storefronts, ownership or Ownership()),
        order.accept,
        order.route,
        order.plan_ship_to_store,
        order.drop_transfer,
        order.reserve,
        order.release,
        order.resource,
        order.consume,
        order.set_status,
        order.raise_exception,
        pay.authorize,
        pay.payment_status,
        money.capture_cards,
        money.void_all,
        RefundActivities(db, gateway, points_expiry_months=points_expiry()).to_original_tenders,
        cart.open,
        cart.set_line,
        cart.close,
        cart.view,
        *loyalty_points(db),  # earned when an online order is fulfilled
        sync.wait_for_changes,
        sync.push,
        sync.ack,
        sync.stores,
        sync.resync_store,
        notices.update_order_status,
        notices.refund,
    ]


def webstore_worker(
    client: Client,
    db: Database,
    gateway: PaymentGateway,
    storefronts: Callable[[str], Storefront | None],
    *,
    task_queue: str = WEB_TASK_QUEUE,
    max_threads: int = 16,
    fulfilment_queue: str = FULFILMENT_TASK_QUEUE,
    ownership: Ownership | None = None,
    transfer_queue: str = CENTRAL_TASK_QUEUE,
    settings: Settings | None = None,
) -> Worker:
    """OnlineOrder, Cart, StockSync, StockResync and CatalogSync workflows on the web queue, and
    with `settings` the Magento order pull (MagentoPull, on its schedule) and the outbound events'
    deliveries (EventDelivery, one per subscription).

    `fulfilment_queue` is where the orders start their Bopis / ShipFromStore children (tests point
    it at stand-ins of their own); `transfer_queue` is where ship-to-store Transfers run."""
    from workflows.cart import CartWorkflow
    from workflows.catalog_sync import CatalogSyncWorkflow
    from workflows.magento_pull import MagentoPullWorkflow
    from workflows.online_order import OnlineOrderWorkflow
    from workflows.stock_sync import StockResyncWorkflow, StockSyncWorkflow

    magento: list[Callable[..., Any]] = []
    extra_workflows: list[type] = []
    if settings is not None:
        from activities.event_delivery import event_delivery_activities
        from activities.magento_pull import MagentoPullActivities
        from workflows.event_delivery import EventDeliveryWorkflow

        pull = MagentoPullActivities(
            db,
            storefronts,
            client,
            allow_split=settings.routing_allow_split,
            stores_first=settings.routing_stores_first,
            ship_to_store=settings.routing_ship_to_store,
            first_pull_hours=settings.magento_first_pull_hours,
            order_queue=task_queue,
        )
        # The Magento order pull, and the outbound events' deliveries (issue 19).
        magento = [
            pull.stores,
            pull.pull_orders,
            *event_delivery_activities(db, timeout_s=settings.events_timeout_s),
        ]
        extra_workflows = [MagentoPullWorkflow, EventDeliveryWorkflow]
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[
            OnlineOrderWorkflow,
            CartWorkflow,
            StockSyncWorkflow,
            StockResyncWorkflow,
            CatalogSyncWorkflow,
            *extra_workflows,
        ],
        activities=[
            *webstore_activities(
                db, gateway, storefronts, fulfilment_queue, ownership, transfer_queue
            ),
            *magento,
        ],
        activity_executor=ThreadPoolExecutor(max_workers=max_threads),
        workflow_runner=sandbox_runner(),
        max_concurrent_local_activities=max_threads,
    )


def catalog_sync_activities(
    db: Database, storefronts: Callable[[str], Storefront | None], ownership: Ownership
) -> list[Callable[..., Any]]:
    """CatalogSync's activities (on the web queue, beside the rest of the web-store link)."""
    from activities.catalog_sync import CatalogSyncActivities

    acts = CatalogSyncActivities(db, storefronts, ownership)
    return [acts.wait_for_changes, acts.push, acts.resync, acts.apply_inbound]


def ownership(settings: Settings) -> Ownership:
    """Who owns titles and descriptions (TILLFLOW_CATALOG_*_OWNER); price, barcode and stock are
    always tillflow's."""
    return Ownership(
        title=settings.catalog_titles_owner, description=settings.catalog_descriptions_owner
    )


async def start_catalog_syncs(client: Client, db: Database, settings: Settings) -> int:
    """One CatalogSync per active Shopify / WooCommerce / Magento store (a running one is kept);
    how many."""
    from contracts.catalog import start_catalog_syncs as start
    from db.repositories import webstores

    with db.unit_of_work() as s:
        codes = [
            st.code for st in webstores.stores(s, platforms=("shopify", "woocommerce", "magento"))
        ]
    return await start(client, codes, settings, task_queue=settings.web_task_queue)


async def start_stock_sync(
    client: Client, settings: Settings, *, task_queue: str = WEB_TASK_QUEUE
) -> None:
    """The long-running StockSync (once) and the full-resync schedule (once)."""
    await stock_sync.start_stock_sync(
        client,
        stock_sync.StockSyncRequest(
            debounce_ms=settings.stock_sync_debounce_ms,
            max_delay_ms=settings.stock_sync_max_delay_ms,
        ),
        resync_every=timedelta(minutes=settings.stock_resync_minutes),
        task_queue=task_queue,
    )


# ---- fulfilment: Bopis and ShipFromStore, the children of OnlineOrder ----------------------------


def fulfilment_activities(
    db: Database,
    settings: Settings,
    *,
    notifier: object | None = None,
    carrier: object | None = None,
    search_attributes: bool = True,
) -> list[Callable[..., Any]]:
    """Tasks, pickup holds, notices (outbox) and labels (local carrier unless one is given)."""
    from activities.carriers import CarrierActivities
    from activities.fulfilment import FulfilmentActivities, NoticeActivities
    from activities.shipping import ShippingActivities
    from contracts.fulfilment import FulfilmentConfig
    from integrations.carrier import Carrier
    from integrations.notifier import Notifier, OutboxNotifier
    from tillflow.carriers import carrier_for
    from tillflow.files import file_store_for

    notes: Notifier = notifier if notifier is not None else OutboxNotifier(db)  # type: ignore[assignment]  # param is `object`
    labels: Carrier = (
        # Shippo when its token is set, else the local carrier (issue 19).
        carrier if carrier is not None else carrier_for(settings)  # type: ignore[assignment]  # param is `object`
    )
    config = FulfilmentConfig(
        pick_sla_minutes=settings.pick_sla_minutes,
        pickup_hold_days=settings.pickup_hold_days,
        pickup_reminder_hours=settings.pickup_reminder_hours,
        pickup_code_attempts=settings.pickup_code_attempts,
        search_attributes=search_attributes,
    )
    f = FulfilmentActivities(db, notes, config)
    return [
        f.setup,
        f.open_task,
        f.claim,
        f.close_task,
        f.amend_task,
        f.cancel_tasks,
        f.escalate,
        f.resolve_barcodes,
        f.record_shortage,
        f.pickup_deadline,
        f.hold_for_pickup,
        f.extend_pickup,
        f.hand_over,
        f.release_pickup,
        NoticeActivities(notes).send,
        # Labels go to PostgreSQL (or the S3-compatible store when one is set), never a disk.
        ShippingActivities(db, labels, file_store_for(settings, db)).buy_label,
        CarrierActivities(db).record_tracking,  # a carrier's tracking webhook (issue 19)
    ]


def fulfilment_worker(
    client: Client,
    db: Database,
    settings: Settings,
    *,
    task_queue: str = FULFILMENT_TASK_QUEUE,
    max_threads: int = 8,
    search_attributes: bool = True,
) -> Worker:
    """Bopis and ShipFromStore with their activities, on the fulfilment queue."""
    from workflows.bopis import BopisWorkflow
    from workflows.carrier_tracking import CarrierTrackingWorkflow
    from workflows.ship_from_store import ShipFromStoreWorkflow

    return Worker(
        client,
        task_queue=task_queue,
        workflows=[BopisWorkflow, ShipFromStoreWorkflow, CarrierTrackingWorkflow],
        activities=fulfilment_activities(db, settings, search_attributes=search_attributes),
        activity_executor=ThreadPoolExecutor(max_workers=max_threads),
        workflow_runner=sandbox_runner(),
    )


# ---- the back office: receipts, adjustments, variances, reorder drafts, transfers, counts --------


def backoffice_activities(db: Database) -> list[Callable[..., Any]]:
    """The stock workflows' activities of the back office."""
    from activities.counts import CountActivities
    from activities.stock_ops import stock_ops_activities
    from activities.transfers import TransferActivities

    t, c = TransferActivities(db), CountActivities(db)
    transfers: list[Callable[..., Any]] = [t.record, t.release, t.cancel, t.pick, t.receive]
    counts: list[Callable[..., Any]] = [c.snapshot, c.enter, c.evaluate, c.apply, c.close]
    return [*stock_ops_activities(db), *transfers, *counts]


def message_activities(db: Database, settings: Settings) -> list[Callable[..., Any]]:
    """The outbox drain, retry and e-mail receipt activities, with SMTP and (optionally) Twilio."""
    from activities.messages import message_activities as build
    from contracts.messages import MessageConfig
    from integrations.email_smtp import NoEmailSender, SmtpConfig, SmtpEmailSender
    from integrations.sms import TwilioConfig, TwilioSms

    def secret(value: Any) -> str:  # a SecretStr, or None when unset
        return value.get_secret_value() if value is not None else ""

    email = (
        SmtpEmailSender(
            SmtpConfig(
                host=settings.smtp_host,
                port=settings.smtp_port,
                tls=settings.smtp_tls,
                username=settings.smtp_username,
                password=secret(settings.smtp_password),
                from_address=settings.smtp_from,
                from_name=settings.smtp_from_name,
                timeout_s=settings.smtp_timeout_s,
                validate_certs=settings.smtp_validate_certs,
            )
        )
        if settings.smtp_host
        else NoEmailSender()
    )
    sms = (
        TwilioSms(
            TwilioConfig(
                account_sid=settings.sms_twilio_account_sid,
                auth_token=secret(settings.sms_twilio_auth_token),
                api_key_sid=settings.sms_twilio_api_key_sid,
                from_number=settings.sms_twilio_from,
                messaging_service_sid=settings.sms_twilio_messaging_service_sid,
                base_url=settings.sms_twilio_base_url,
                timeout_s=settings.smtp_timeout_s,
            )
        )
        if settings.sms_provider == "twilio"
        else None
    )
    config = MessageConfig(
        max_attempts=settings.messages_max_attempts,
        backoff_base_s=settings.messages_backoff_base_s,
        backoff_cap_s=settings.messages_backoff_cap_s,
        batch_size=settings.messages_batch_size,
        claim_lease_s=settings.messages_claim_lease_s,
        max_age_hours=settings.messages_max_age_hours,
    )
    return build(db, email, sms, config)


def backoffice_worker(
    client: Client,
    db: Database,
    *,
    task_queue: str = CENTRAL_TASK_QUEUE,
    max_threads: int = 8,
    settings: Settings | None = None,
) -> Worker:
    """GoodsReceipt, StockAdjustment, ResolveVariance, ReorderDraft, Transfer and Count, and the
    daily report pack (DailyReports)."""
    from activities.accounting import accounting_activities
    from activities.reconciliation import reconciliation_activities
    from activities.reports import report_activities
    from activities.stock_closings import stock_closing_activities
    from integrations.stripe_balance import balance_source
    from reports.registry import ReportContext
    from workflows.adjustment import StockAdjustmentWorkflow
    from workflows.count import CountWorkflow
    from workflows.daily_reports import DailyReportsWorkflow
    from workflows.goods_receipt import GoodsReceiptWorkflow
    from workflows.loyalty_expiry import LoyaltyAdjustWorkflow, LoyaltyExpiryWorkflow
    from workflows.messages import EmailReceiptWorkflow, MessageDrainWorkflow, MessageRetryWorkflow
    from workflows.reorder import ReorderDraftWorkflow
    from workflows.transfer import TransferWorkflow
    from workflows.variance import ResolveVarianceWorkflow

    def report_context() -> ReportContext:
        if settings is None:
            return ReportContext()
        from tillflow.adapters import report_context

        return report_context(settings)

    return Worker(
        client,
        task_queue=task_queue,
        workflows=[
            GoodsReceiptWorkflow,
            StockAdjustmentWorkflow,
            ResolveVarianceWorkflow,
            ReorderDraftWorkflow,
            TransferWorkflow,
            CountWorkflow,
            DailyReportsWorkflow,
            LoyaltyExpiryWorkflow,
            LoyaltyAdjustWorkflow,
            # Customer messages: the outbox drain, a staff retry, an e-mail receipt (issue 18).
            MessageDrainWorkflow,
            MessageRetryWorkflow,
            EmailReceiptWorkflow,
        ],
        activities=[
            *backoffice_activities(db),
            *report_activities(db, report_context),
            *stock_closing_activities(db),  # the daily pack's stock closings (issue 16)
            *loyalty_points(db),
            *message_activities(db, settings or _default_settings()),
            *accounting_activities(
                db,
                settings.account_map if settings else None,
                settings.journal_lookback_days if settings else 35,
            ),
            *reconciliation_activities(
                db,
                balance_source(
                    settings.stripe_api_key if settings else None,
                    settings.stripe_api_base if settings else None,
                    enabled=settings.reconciliation_stripe_sync if settings else False,
                ),
            ),
        ],
        activity_executor=ThreadPoolExecutor(max_workers=max_threads),
        workflow_runner=sandbox_runner(),
    )


async def start_reorder_schedule(client: Client, settings: Settings) -> None:
    """The daily run that drafts purchase orders from the reorder suggestions (never sends)."""
    from contracts.stock import ReorderRequest
    from contracts.stock import start_reorder_schedule as start

    await start(
        client,
        ReorderRequest(
            window_days=settings.reorder_window_days,
            cover_days=settings.reorder_cover_days,
            default_lead_time_days=settings.reorder_default_lead_time_days,
        ),
        cron=settings.reorder_schedule_cron,
        task_queue=settings.backoffice_task_queue,
    )


async def start_report_schedule(client: Client, db: Database, settings: Settings) -> None:
    """The daily report pack, after the last store's closing time plus the grace (in that
    store's timezone); its spec is set again at every start (store hours may have changed)."""
    from datetime import UTC, datetime, timedelta

    from activities.reports import all_store_hours
    from contracts.reports import PackRequest, start_pack_schedule
    from domain.day_close import pack_schedule

    grace = settings.report_pack_grace_minutes
    cron, timezone = pack_schedule(
        all_store_hours(db), timedelta(minutes=grace), datetime.now(UTC).date()
    )
    await start_pack_schedule(
        client,
        PackRequest(
            grace_minutes=grace,
            stripe_sync_margin_hours=settings.reconciliation_sync_margin_hours,
        ),
        cron=cron,
        timezone=timezone,
        task_queue=settings.backoffice_task_queue,
    )


async def start_loyalty_expiry_schedule(client: Client, settings: Settings) -> None:
    """The daily expiry of loyalty points (oldest lots first), on the back-office queue."""
    from contracts.loyalty import start_expiry_schedule

    await start_expiry_schedule(
        client,
        cron=settings.loyalty_expiry_cron,
        timezone=settings.loyalty_expiry_timezone,
        task_queue=settings.loyalty_task_queue,
    )


async def start_message_drain_schedule(client: Client, settings: Settings) -> None:
    """The outbox drain every TILLFLOW_MESSAGES_DRAIN_INTERVAL_S, once a sender is configured."""
    from datetime import timedelta

    from contracts.messages import start_drain_schedule

    if not settings.smtp_host and settings.sms_provider == "none":
        return  # nothing could be sent: messages wait in the outbox, pending
    await start_drain_schedule(
        client,
        every=timedelta(seconds=settings.messages_drain_interval_s),
        task_queue=settings.messages_task_queue,
    )


def _default_settings() -> Settings:
    from tillflow.settings import get_settings

    return get_settings()


async def start_fiscal_catch_up_schedule(client: Client, settings: Settings) -> None:
    """The fiscal catch-up every TILLFLOW_FISCAL_CATCH_UP_MINUTES, on the sales queue."""
    from contracts.common import SALES_TASK_QUEUE
    from contracts.fiscal import start_catch_up_schedule

    await start_catch_up_schedule(
        client,
        every=timedelta(minutes=settings.fiscal_catch_up_minutes),
        stale_after=timedelta(minutes=settings.fiscal_catch_up_stale_minutes),
        task_queue=SALES_TASK_QUEUE,
    )


async def start_magento_schedule(client: Client, settings: Settings) -> None:
    """The Magento order pull every TILLFLOW_MAGENTO_PULL_EVERY_S, on the web queue."""
    from contracts.magento import start_magento_pull

    await start_magento_pull(
        client,
        every=timedelta(seconds=settings.magento_pull_every_s),
        task_queue=settings.web_task_queue,
    )


async def start_event_deliveries(client: Client, db: Database, settings: Settings) -> int:
    """One EventDelivery per active subscription (the API starts them as they are made; this
    brings them back after a deploy); how many."""
    from contracts.events import start_event_deliveries as start
    from db.repositories import events

    with db.unit_of_work() as s:
        codes = [v.code for v in events.subscriptions(s, active_only=True)]
    return await start(client, codes, settings, task_queue=settings.web_task_queue)
