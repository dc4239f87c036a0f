"""A card sale whose central answer does not come in time is never taken again offline: the till
keeps the sale open until the central system answers for it (here the card was charged)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid

import httpx
from helpers.tills import free_port, login, wait_until
from sqlalchemy import select

from contracts.sale import sale_workflow_id
from db.models import Order, Payment

CARD_TIMEOUT_S = 3.0


class AnswerHoldingLink:
    """A TCP forwarder between a till and the central API that can hold back the central answers:
    requests still arrive and are acted on, the till just never hears back (a stalled line)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.holding = False
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def up(self) -> None:
        self._server = await asyncio.start_server(self._pipe, "127.0.0.1", self.port)

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for w in list(self._writers):
            w.close()
        self._writers.clear()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}

        async def copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter, answers: bool) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    if answers and self.holding:
                        continue  # swallowed: the till waits for an answer that never comes
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(copy(reader, up_writer, False), copy(up_reader, writer, True))
        self._writers -= {writer, up_writer}


def card_payments(db, workflow_id: str) -> list[tuple[str, str, int]]:  # type: ignore[no-untyped-def]  # takes untyped fixture values
    with db.unit_of_work() as s:
        rows = s.scalars(
            select(Payment).where(Payment.workflow_id == workflow_id, Payment.tender == "card")
        ).all()
        return [(p.status, p.provider_ref, p.amount) for p in rows]


def order_status(db, workflow_id: str) -> str | None:  # type: ignore[no-untyped-def]  # takes untyped fixture values
    with db.unit_of_work() as s:
        order = s.scalar(select(Order).where(Order.workflow_id == workflow_id))
        return order.status if order else None


async def test_card_sale_without_an_answer_stays_open_and_is_never_taken_offline(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    central, start_agent, db
) -> None:
    link = AnswerHoldingLink(central.port)
    await link.up()
    async with httpx.AsyncClient(base_url=central.url, timeout=30) as api:
        manager = await login(api, "BER1", "9001", "9001")
        # The store takes cards offline (store and forward): the old till would have done so here.
        policy = {"enabled": True, "per_sale_cap": 50000, "total_cap": 80000, "max_age_hours": 24}
        r = await api.put("/stores/BER/offline-card-policy", headers=manager, json=policy)
        assert r.status_code == 200, r.text
        try:
            agent = await start_agent("BER2", link.url, card_timeout=CARD_TIMEOUT_S)
            await agent.login("1002", "2345")
            await wait_until(
                lambda: agent.agent.snapshot is not None and agent.agent.online, 15, "online"
            )
            assert agent.agent.snapshot is not None
            assert agent.agent.snapshot.card_policy.enabled
            price = agent.agent.snapshot.items["COFFEE-BEANS"].unit_price
            cid = f"ct-{uuid.uuid4().hex[:8]}"
            wf = sale_workflow_id("BER2", cid)
            terminal = {"reference": "tok_term_0001", "brand": "VISA", "last4": "4242"}
            sale = {
                "client_sale_id": cid,
                "lines": [{"sku": "COFFEE-BEANS", "quantity": 1}],
                "tenders": [{"kind": "card", "amount": price, **terminal}],
            }

            # The central system takes the card, but its answer never reaches the till.
            link.holding = True
            started = time.monotonic()
            first = await agent.post("/api/sales", sale)
            waited = time.monotonic() - started
            assert first.status_code == 503, first.text
            assert first.json()["error"]["code"] == "card_outcome_unknown"
            assert "Do not take the card again" in first.json()["error"]["message"]
            assert CARD_TIMEOUT_S - 0.2 <= waited < CARD_TIMEOUT_S + 2, waited
            assert agent.agent.journal.entry(cid) is None  # not sold offline
            await wait_until(lambda: order_status(db, wf) == "completed", 30, "the central sale")

            # Pay pressed again while the link is down altogether: still never sold offline, with
            # the card or anything else, while its card may be charged.
            await link.cut()
            link.holding = False
            again = await agent.post("/api/sales", sale)
            assert again.status_code == 503 and again.json()["error"]["code"] == (
                "card_outcome_unknown"
            )
            cash = {**sale, "tenders": [{"kind": "cash", "amount": price}]}
            assert (await agent.post("/api/sales", cash)).status_code == 503
            assert agent.agent.journal.entry(cid) is None
            assert (await agent.status())["card_outcome_unknown"] == 1

            # Back: the same sale asked again gets the central outcome, the card charged once.
            await link.up()
            await wait_until(lambda: agent.agent.online, 15, "the link back")
            done = await agent.post("/api/sales", sale)
            assert done.status_code == 200, done.text
            body = done.json()
            assert body["status"] == "completed" and not body.get("offline")
            assert body["sale_id"].startswith("BER2-") and body["tenders"][0]["kind"] == "card"
            assert (await agent.status())["card_outcome_unknown"] == 0
            assert agent.agent.journal.entry(cid) is None  # nothing to upload: central has it
            payments = card_payments(db, wf)
            assert [(status, amount) for status, _, amount in payments] == [("captured", price)]
            assert payments[0][1].startswith("pi_")
        finally:
            await link.cut()
            await api.put(
                "/stores/BER/offline-card-policy",
                headers=manager,
                json={**policy, "enabled": False},
            )


async def test_a_cash_sale_without_an_answer_goes_offline_at_once(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    central, start_agent, db
) -> None:
    """The other side of the rule: cash is never at risk of being taken twice, so it goes offline
    after the short cash timeout and lands once."""
    link = AnswerHoldingLink(central.port)
    await link.up()
    try:
        agent = await start_agent("BER2", link.url, cash_timeout=1.0)
        await agent.login("1002", "2345")
        await wait_until(lambda: agent.agent.snapshot is not None and agent.agent.online, 15, "on")
        cid = f"ct-cash-{uuid.uuid4().hex[:8]}"
        link.holding = True
        started = time.monotonic()
        r = await agent.post(
            "/api/sales",
            {
                "client_sale_id": cid,
                "lines": [{"sku": "KEYRING", "quantity": 1}],
                "tenders": [{"kind": "cash", "amount": 2000}],
            },
        )
        assert r.status_code == 200 and r.json()["offline"] is True, r.text
        assert time.monotonic() - started < 2.0
        link.holding = False
        await wait_until(
            lambda: agent.agent.journal.counts().get("waiting", 0) == 0, 60, "the upload"
        )
        assert order_status(db, sale_workflow_id("BER2", cid)) == "completed"
        entry = agent.agent.journal.entry(cid)
        assert entry is not None and entry.status == "applied"
    finally:
        await link.cut()
