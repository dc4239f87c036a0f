"""The till agent's work: forward to the central API while it answers, sell from the journal when it
doesn't."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import httpx

from contracts.devices import PrintJob, Receipt
from devices.direct import DirectDevices
from devices.printers import PrinterUnavailable, RawPrinter
from devices.scanner import Scanner, ScannerConfig, SerialScanner
from devices.status import PrinterStatus
from domain.offline import StoredCards
from domain.pricing import Quote
from tills.cashiers import Session, Sessions, hash_pin, pin_matches
from tills.central import CentralClient, CentralRefused, CentralUnavailable
from tills.config import AgentConfig
from tills.events import EventHub
from tills.journal import APPLIED, FLAGGED, REJECTED, WAITING, CachedCashier, Journal
from tills.offline_sale import TenderInput, make_offline_sale, receipt_from_json, receipt_to_json
from tills.snapshot import Snapshot

log = logging.getLogger("tillflow.till")
TILL_ROLES = ("cashier", "manager")
LOGIN_TIMEOUT = 10.0  # a sign-in checks a PIN centrally (scrypt); offline sign-in is the fallback
CATALOG_TIMEOUT = 30.0  # the snapshot is fetched in the background
VERSION_TIMEOUT = 5.0  # the catalogue version: one small answer
REPRINT_TIMEOUT = 10.0
FORWARD_TIMEOUT = 30.0  # shifts, returns and pickups: central work with a workflow behind it
OFFLINE_ADJUSTMENT = (
    "Discounts, price overrides and coupons need the central system, which cannot be reached: "
    "sell at the normal price (the store's own promotions still apply), or wait for the link."
)
CARD_OUTCOME_UNKNOWN = (
    "The central system has not confirmed this card payment: it may still be in progress, so "
    "the sale stays open. Do not take the card again: press Pay again in a moment for this same "
    "sale to get its outcome."
)


class AgentError(Exception):
    """A refusal of the till agent itself, with the status and code the page gets."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def batch_id_for(client_sale_ids: list[str]) -> str:
    """The same sales always form the same batch id, so a re-send joins or repeats its replay."""
    return hashlib.sha256("\n".join(client_sale_ids).encode()).hexdigest()[:24]


class TillAgent:
    """One till: its page sessions, link to the central API, offline journal, uploader and
    devices."""

    def __init__(
        self,
        config: AgentConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], datetime] | None = None,
        printer: RawPrinter | None = None,
    ) -> None:
        self.config = config
        self.central = CentralClient(config.api_url, config.till, transport=transport)
        self.journal = Journal(config.journal_path)
        self.sessions = Sessions()
        self.hub = EventHub()
        self.clock = clock or (lambda: datetime.now(UTC))
        self.devices = (
            DirectDevices(config.printer_url, config.device_jobs_path, printer=printer)
            if config.printer_url
            else None
        )
        self.scanner: Scanner | None = (
            SerialScanner(ScannerConfig.parse(config.scanner), self._on_scan)
            if config.scanner
            else None
        )
        self.online = False
        self.printer_status = (
            PrinterStatus("ready", "no printer attached")
            if self.devices is None
            else PrinterStatus("unknown", "not checked yet")
        )
        self.upload_note = ""
        saved = self.journal.snapshot()
        self.snapshot = Snapshot(*saved) if saved else None
        self._sale_lock = asyncio.Lock()
        self._version_asked_at: datetime | None = None
        self._upload_kick = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    # ---- life cycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Start the link monitor, the uploader, the printer watch and the scanner."""
        self.hub.bind(asyncio.get_running_loop())
        self._tasks = [
            asyncio.create_task(self._forever(f))
            for f in (self._monitor_once, self._upload_round, self._printer_once)
        ]
        if self.scanner is not None:
            self.scanner.start()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.scanner is not None:
            await asyncio.to_thread(self.scanner.stop)
        self.hub.close()
        await self.central.close()

    async def _forever(self, step: Callable[[], Any]) -> None:
        while True:
            try:
                await step()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("till agent background step failed")
                await asyncio.sleep(1)

    def _on_scan(self, code: str) -> None:
        self.hub.publish_threadsafe({"type": "scan", "code": code})

    # ---- status --------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """What the page shows in its status bar."""
        counts = self.journal.counts()
        return {
            "type": "status",
            "till": self.config.till,
            "online": self.online,
            "waiting": counts.get(WAITING, 0),
            "needs_attention": counts.get(REJECTED, 0),
            # Card sales the central system never answered: open until it does.
            "card_outcome_unknown": self.journal.unanswered_count(),
            "upload_note": self.upload_note,
            "printer": {"state": self.printer_status.state, "detail": self.printer_status.detail},
            "snapshot_at": self.snapshot.fetched_at.isoformat() if self.snapshot else None,
            "scanner": None if self.scanner is None else self.scanner.connected,
        }

    def publish_status(self) -> None:
        self.hub.publish(self.status())

    def _set_online(self, online: bool) -> None:
        if online != self.online:
            self.online = online
            log.info("till %s is %s", self.config.till, "online" if online else "offline")
            if online:
                self._upload_kick.set()
            self.publish_status()

    # ---- the link to the central API -----------------------------------------------------

    async def _monitor_once(self) -> None:
        self._set_online(await self.central.reachable())
        if self.online:
            await self.refresh_snapshot()
        await asyncio.sleep(self.config.probe_interval)

    async def refresh_snapshot(self, *, force: bool = False) -> None:
        """Fetch the catalogue, prices, tax and card limits when stale (or forced, after a
        sign-in)."""
        token = self.sessions.any_central_token()
        if token is None:
            return
        fresh = (
            self.snapshot is not None
            and (self.clock() - self.snapshot.fetched_at).total_seconds()
            < self.config.snapshot_refresh
        )
        if fresh and not force and not await self._snapshot_outdated(token):
            return
        try:
            _, body = await self.central.call(
                "GET", "/catalog", token=token, timeout=CATALOG_TIMEOUT
            )
        except CentralUnavailable:
            self._set_online(False)
            return
        except CentralRefused as err:
            if err.status == 401:
                self.sessions.drop_central(token)
            return
        fetched = self.clock()
        await asyncio.to_thread(self.journal.save_snapshot, body, fetched)
        self.snapshot = Snapshot(body, fetched)
        if "staff" in body:  # a deactivated person or a changed PIN no longer signs in offline
            gone = await asyncio.to_thread(self.journal.prune_cashiers, body["staff"])
            if gone:
                log.info("till %s: offline sign-in withdrawn for %s", self.config.till, gone)
        self.publish_status()

    async def _snapshot_outdated(self, token: str) -> bool:
        """Has the catalogue changed since the snapshot? A scheduled price's start is known from
        the snapshot itself; a change is asked for (GET /catalog/version) every `version_poll`
        seconds, never on the sale path."""
        snapshot, now = self.snapshot, self.clock()
        if snapshot is None:
            return True
        if snapshot.stale_at(now, None):
            return True
        last = self._version_asked_at
        if last is not None and (now - last).total_seconds() < self.config.version_poll:
            return False
        self._version_asked_at = now
        try:
            _, body = await self.central.call(
                "GET", "/catalog/version", token=token, timeout=VERSION_TIMEOUT
            )
        except CentralUnavailable:
            self._set_online(False)
            return False
        except CentralRefused as err:
            if err.status == 401:
                self.sessions.drop_central(token)
            return False
        moved = snapshot.stale_at(now, str(body.get("version", "")))
        if moved:
            log.info("till %s: catalogue changed, fetching a new snapshot", self.config.till)
        return moved

    async def _central(
        self, session: Session, method: str, path: str, **kw: Any
    ) -> tuple[int, Any]:
        """Call the central API as the signed-in person; CentralUnavailable means "sell offline"."""
        if session.central_token is None:
            raise AgentError(
                401,
                "sign_in_again",
                "You signed in while the till was offline; please sign in again now it is back.",
            )
        try:
            result = await self.central.call(method, path, token=session.central_token, **kw)
        except CentralUnavailable:
            self._set_online(False)
            raise
        except CentralRefused as err:
            if err.status == 401:
                self.sessions.drop_central(session.central_token)
                self.sessions.close(session.token)
            raise
        self._set_online(True)
        return result

    # ---- page operations -----------------------------------------------------------------

    async def login(self, staff_code: str, pin: str) -> Session:
        """Sign in through the central API; offline, people who signed in here before still can."""
        try:
            _, body = await self.central.call(
                "POST",
                "/login",
                json={"staff_code": staff_code, "pin": pin},
                timeout=LOGIN_TIMEOUT,
            )
        except CentralRefused as err:
            if err.status == 401:
                # A changed PIN or a removed cashier must not keep working offline.
                await asyncio.to_thread(self.journal.forget_cashier, staff_code)
            raise
        except CentralUnavailable:
            self._set_online(False)
            return await self._login_offline(staff_code, pin)
        self._set_online(True)
        if body["role"] in TILL_ROLES:
            pin_hash = await asyncio.to_thread(
                hash_pin, pin
            )  # scrypt: tens of ms, off the event loop
            await asyncio.to_thread(
                self.journal.remember_cashier,
                CachedCashier(
                    staff_code, body["user"], body["display_name"], body["role"], pin_hash
                ),
            )
        session = self.sessions.open(
            staff_code, body["user"], body["display_name"], body["role"], body["token"]
        )
        await self.refresh_snapshot(force=True)
        self._upload_kick.set()
        return session

    async def _login_offline(self, staff_code: str, pin: str) -> Session:
        cached = await asyncio.to_thread(self.journal.cashier, staff_code)
        if cached is None or not await asyncio.to_thread(pin_matches, pin, cached.pin_hash):
            raise AgentError(
                401,
                "unauthorized",
                "The till is offline: only people who signed in at this till before can sign in, "
                "with the same PIN.",
            )
        return self.sessions.open(
            staff_code, cached.username, cached.display_name, cached.role, None
        )

    async def lookup(self, session: Session, barcode: str) -> dict[str, Any]:
        """The product behind a barcode: central while online, from the snapshot offline."""
        if self.online:
            with contextlib.suppress(CentralUnavailable):
                return (
                    await self._central(
                        session,
                        "GET",
                        "/lookup",
                        params={"barcode": barcode},
                        timeout=self.config.cash_timeout,
                    )
                )[1]
        return self._snapshot_or_fail().lookup(barcode)

    async def quote(
        self,
        session: Session,
        lines: list[tuple[str, int]],
        adjustments: list[dict[str, Any]] | None = None,
        *,
        coupon_codes: list[str] | None = None,
        customer_id: int | None = None,
    ) -> dict[str, Any]:
        """Basket totals: central while online, the same pricing rules (and the store's
        promotions without coupons) on the snapshot offline. Discounts, price overrides and
        coupons are the central system's to price and approve."""
        body: dict[str, Any] = {
            "lines": [{"sku": s, "quantity": q} for s, q in lines],
            **({"adjustments": adjustments} if adjustments else {}),
            **({"coupon_codes": coupon_codes} if coupon_codes else {}),
            **({"customer_id": customer_id} if customer_id else {}),
        }
        if adjustments or coupon_codes:
            return (
                await self._central(
                    session, "POST", "/quote", json=body, timeout=self.config.cash_timeout
                )
            )[1]
        if self.online:
            with contextlib.suppress(CentralUnavailable):
                return (
                    await self._central(
                        session, "POST", "/quote", json=body, timeout=self.config.cash_timeout
                    )
                )[1]
        return _quote_json(self._snapshot_or_fail().quote(lines))

    async def sale(
        self,
        session: Session,
        client_sale_id: str,
        lines: list[tuple[str, int]],
        tenders: list[TenderInput],
        *,
        adjustments: list[dict[str, Any]] | None = None,
        coupon_codes: list[str] | None = None,
        customer_id: int | None = None,
        basket_started_at: datetime | None = None,
        simulate: list[str] | None = None,
        customer_codes: list[str] | None = None,
    ) -> dict[str, Any]:
        """Online: the central Sale. Unreachable: the same sale from the snapshot, into the
        journal (never with discounts or overrides: those need the central system's approval).

        A cash sale goes offline when the central system has not answered within the cash timeout.
        A sale with a card waits as long as the card flow needs; when even then no answer comes
        (and the request may have reached the central side), the card may have been charged: the
        sale stays open, is never sold offline, and every further attempt asks the central system
        until it answers for it."""
        stored = await asyncio.to_thread(self.journal.entry, client_sale_id)
        if stored is not None:
            return stored.sale  # a double tap of a sale made offline
        unanswered = await asyncio.to_thread(self.journal.unanswered, client_sale_id)
        card = unanswered or any(t.kind == "card" for t in tenders)
        if self.online or unanswered:
            body = {
                "client_sale_id": client_sale_id,
                "lines": [{"sku": s, "quantity": q} for s, q in lines],
                "tenders": [
                    {
                        "kind": t.kind,
                        "amount": t.amount,
                        **({"reference": t.reference} if t.reference and t.kind != "card" else {}),
                        **({"simulate": sim} if sim and t.kind == "card" else {}),
                        **({"customer_code": code} if code else {}),
                    }
                    for t, sim, code in zip(
                        tenders,
                        simulate or [""] * len(tenders),
                        customer_codes or [""] * len(tenders),
                        strict=True,
                    )
                ],
                **({"adjustments": adjustments} if adjustments else {}),
                **({"coupon_codes": coupon_codes} if coupon_codes else {}),
                **({"customer_id": customer_id} if customer_id else {}),
                **(
                    {"basket_started_at": basket_started_at.isoformat()}
                    if basket_started_at
                    else {}
                ),
            }
            timeout = self.config.card_timeout if card else self.config.cash_timeout
            try:
                answer = (
                    await self._central(session, "POST", "/sales", json=body, timeout=timeout)
                )[1]
            except CentralUnavailable as err:
                if card and (err.sent or unanswered):
                    await asyncio.to_thread(self.journal.mark_unanswered, client_sale_id, str(err))
                    log.warning("card sale %s stays open: %s", client_sale_id, err)
                    self.publish_status()
                    raise AgentError(503, "card_outcome_unknown", CARD_OUTCOME_UNKNOWN) from err
                # The answer is unknown: the same client id offline is applied once at most.
                log.warning("sale %s goes offline: %s", client_sale_id, err)
                if adjustments or coupon_codes:
                    raise AgentError(503, "offline", OFFLINE_ADJUSTMENT) from err
            else:
                # Only an answer settles it; a refusal (4xx) passes through and settles nothing: it
                # may be about this request (its sign-in, its body), not the earlier attempt.
                await self._answered(client_sale_id, unanswered)
                return answer
        if adjustments or coupon_codes:
            raise AgentError(503, "offline", OFFLINE_ADJUSTMENT)
        return await self._sale_offline(session, client_sale_id, lines, tenders, customer_id)

    async def forward(
        self,
        session: Session,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        key: str | None = None,
        at_till: bool = True,
        timeout: float = FORWARD_TIMEOUT,
    ) -> tuple[int, Any]:
        """A call to the central API as the signed-in person, for the screens that only work
        online (shifts, returns, pickups, search): writes carry an Idempotency-Key, the page's
        own when it sent one, so a retried tap never acts twice."""
        headers = {"Idempotency-Key": key or uuid.uuid4().hex} if method != "GET" else None
        return await self._central(
            session,
            method,
            path,
            json=json,
            params=params,
            headers=headers,
            at_till=at_till,
            timeout=timeout,
        )

    async def _answered(self, client_sale_id: str, unanswered: bool) -> None:
        """The central system answered for the sale (completed, or open with what is due)."""
        if unanswered:
            await asyncio.to_thread(self.journal.answered, client_sale_id)
            self.publish_status()

    async def _sale_offline(
        self,
        session: Session,
        client_sale_id: str,
        lines: list[tuple[str, int]],
        tenders: list[TenderInput],
        customer_id: int | None = None,
    ) -> dict[str, Any]:
        snapshot = self._snapshot_or_fail()
        if await asyncio.to_thread(self.journal.unanswered, client_sale_id):
            raise AgentError(503, "card_outcome_unknown", CARD_OUTCOME_UNKNOWN)
        async with self._sale_lock:  # the card limits hold across two sales rung up at once
            total, first = await asyncio.to_thread(self.journal.stored_cards)
            made = make_offline_sale(
                snapshot,
                client_sale_id,
                lines,
                tenders,
                (session.username, session.display_name),
                StoredCards(total, first),
                self.clock(),
            )
            sale = {**made.sale, "receipt": receipt_to_json(made.receipt)}
            # The customer it names earns the sale's points when it is replayed.
            body = {**made.body, **({"customer_id": customer_id} if customer_id else {})}
            # Written and fsync'd before anything prints: a receipt never exists without its sale.
            await asyncio.to_thread(
                self.journal.add_sale,
                client_sale_id,
                datetime.fromisoformat(made.body["sold_at"]),
                body,
                sale,
                made.card_total,
            )
        self.publish_status()
        printed = await self._print_offline(client_sale_id, made.receipt, made.cash)
        return {**sale, **printed}

    async def reprint(self, session: Session, sale_id: str) -> dict[str, Any]:
        """Online through the central reprint; a sale still in the journal prints here, marked
        REPRINT."""
        stored = await asyncio.to_thread(self.journal.entry, sale_id)
        central_id = stored.central_sale_id if stored is not None else sale_id
        if self.online and central_id:
            with contextlib.suppress(CentralUnavailable):
                return (
                    await self._central(
                        session,
                        "POST",
                        f"/sales/{central_id}/reprint",
                        headers={"Idempotency-Key": uuid.uuid4().hex},
                        timeout=REPRINT_TIMEOUT,
                    )
                )[1]
        if stored is None or "receipt" not in stored.sale:
            raise AgentError(
                503, "offline", f"Sale {sale_id} can be reprinted only when the till is online."
            )
        receipt = receipt_from_json(stored.sale["receipt"], reprint=True)
        job = f"{stored.client_sale_id}:reprint:{uuid.uuid4().hex[:8]}"
        return {
            "workflow_id": "",
            "status": "printed",
            **await self._print_job("receipt", job, receipt),
        }

    def _snapshot_or_fail(self) -> Snapshot:
        if self.snapshot is None:
            raise AgentError(
                503,
                "no_snapshot",
                "The central system is out of reach and this till has no offline catalogue yet; "
                "it needs to be online once after a sign-in.",
            )
        return self.snapshot

    # ---- printing offline ----------------------------------------------------------------

    async def _print_offline(
        self, client_sale_id: str, receipt: Receipt, cash: bool
    ) -> dict[str, Any]:
        if self.devices is None:
            return {"receipt_printed": False, "printer": "no printer attached to this till agent"}
        if cash:
            await self._send("drawer", f"{client_sale_id}:drawer", self.devices.drawer_data())
        return await self._print_job("receipt", f"{client_sale_id}:receipt", receipt)

    async def _print_job(self, kind: str, job_id: str, receipt: Receipt) -> dict[str, Any]:
        if self.devices is None:
            raise AgentError(409, "no_printer", "No printer is attached to this till agent.")
        data = self.devices.receipt_data(PrintJob(job_id=job_id, receipt=receipt))
        return await self._send(kind, job_id, data)

    async def _send(self, kind: str, job_id: str, data: bytes) -> dict[str, Any]:
        """Send now, or keep the job until the printer is back; either way it prints once."""
        assert self.devices is not None
        try:
            await asyncio.to_thread(self.devices.send_once, kind, job_id, data)
        except PrinterUnavailable as err:
            await asyncio.to_thread(self.journal.queue_job, kind, job_id, data)
            self.printer_status = getattr(err, "status", None) or PrinterStatus(
                "unreachable", str(err)
            )
            self.publish_status()
            return {
                "receipt_printed": False,
                "printer": f"waiting for the printer: {self.printer_status.detail}",
            }
        return {"receipt_printed": True, "printer": "printed"}

    async def _printer_once(self) -> None:
        if self.devices is not None:
            status = await asyncio.to_thread(self.devices.status)
            if status != self.printer_status:
                self.printer_status = status
                self.publish_status()
            if status.can_print:
                await self._drain_print_queue()
        await asyncio.sleep(self.config.printer_poll)

    async def _drain_print_queue(self) -> None:
        assert self.devices is not None
        for job in await asyncio.to_thread(self.journal.queued_jobs):
            try:
                await asyncio.to_thread(self.devices.send_once, job.kind, job.job_id, job.data)
            except PrinterUnavailable:
                return
            await asyncio.to_thread(self.journal.job_done, job.kind, job.job_id)

    # ---- uploading the journal -----------------------------------------------------------

    async def _upload_round(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._upload_kick.wait(), timeout=self.config.upload_interval)
        self._upload_kick.clear()
        if self.online:
            while await self.upload_once():
                pass

    def kick_upload(self) -> None:
        self._upload_kick.set()

    async def upload_once(self) -> bool:
        """Offer the oldest waiting sales; True when some were confirmed and more may be waiting."""
        batch = await asyncio.to_thread(self.journal.waiting, self.config.upload_batch)
        if not batch:
            self._note("")
            return False
        token = self.sessions.any_central_token()
        if token is None:
            self._note(f"{len(batch)}+ sales wait to upload: sign in while online to send them.")
            return False
        confirmed = await self._upload(
            token, [e.client_sale_id for e in batch], [e.body for e in batch]
        )
        self.publish_status()
        return confirmed > 0

    async def _upload(self, token: str, ids: list[str], bodies: list[dict[str, Any]]) -> int:
        try:
            _, answer = await self.central.call(
                "POST",
                "/journal",
                token=token,
                json={"batch_id": batch_id_for(ids), "entries": bodies},
                params={"wait": self.config.upload_wait},
                timeout=self.config.upload_wait + 15,
            )
        except CentralUnavailable:
            self._set_online(False)
            return 0
        except CentralRefused as err:
            return await self._refused(token, ids, bodies, err)
        confirmed = 0
        for item in answer["entries"]:
            if item["status"] in (APPLIED, FLAGGED):
                # Only now does the till let go of the sale: the central side holds it.
                await asyncio.to_thread(
                    self.journal.settle_entry,
                    item["client_sale_id"],
                    item["status"],
                    item.get("sale_id", ""),
                    item.get("message", ""),
                )
                confirmed += 1
        self._note(
            "" if confirmed == len(ids) else "The central system is still applying some sales."
        )
        return confirmed

    async def _refused(
        self, token: str, ids: list[str], bodies: list[dict[str, Any]], err: CentralRefused
    ) -> int:
        message = _message(err.body)
        if err.status == 401:
            self.sessions.drop_central(token)
            self._note("Sign in again to send the waiting sales.")
            return 0
        if err.status == 422 and len(ids) > 1:
            # One bad entry must not hold up the rest: try them one by one.
            return sum(
                [await self._upload(token, [i], [b]) for i, b in zip(ids, bodies, strict=True)]
            )
        if err.status == 422:
            log.error("the central system refused offline sale %s: %s", ids[0], message)
            await asyncio.to_thread(self.journal.settle_entry, ids[0], REJECTED, "", message)
            return 1
        self._note(f"Upload refused: {message}")
        return 0

    def _note(self, note: str) -> None:
        if note != self.upload_note:
            self.upload_note = note
            self.publish_status()


def _message(body: Any) -> str:
    try:
        return str(body["error"]["message"])
    except (KeyError, TypeError):
        return str(body)


def _quote_json(quote: Quote) -> dict[str, Any]:
    return asdict(quote)
