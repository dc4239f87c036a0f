"""The report framework: parameters, renderers, the scope of stores and days, the API's role
scoping, the CLI, and the daily pack (on the time-skipping server and as a real Schedule)."""

from __future__ import annotations

import io
import json
import sys
import uuid
import zipfile
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from helpers.api import password_login, till_login
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.accounting import accounting_activities
from activities.reconciliation import reconciliation_activities
from activities.reports import report_activities
from activities.stock_closings import stock_closing_activities
from db.models import Location
from db.models_reports import ReportPack
from db.report_loaders import scope as scopes
from db.report_loaders.scope import read_frame
from domain.day_close import day_closed_at, last_closed_day, pack_schedule
from domain.errors import InvalidRequest, NotFound
from domain.store_hours import DayHours, StoreHours
from integrations.stripe_balance import NoBalance
from reports import registry
from reports.base import Chart, ReportParams, ReportResult, Section, workflow_link
from reports.render import render, to_json
from tillflow.payloads import DATA_CONVERTER
from tillflow.workers import sandbox_runner
from workflows.daily_reports import DailyReportsWorkflow

DAY = date(2026, 11, 30)


def toy_result(params: ReportParams | None = None) -> ReportResult:
    frame = pd.DataFrame(
        {
            "store": ["BER", "LIS"],
            "currency": ["EUR", "EUR"],
            "sales": [2, 1],
            "total": [123456, -50],
            "workflow_link": [workflow_link("http://ui:8233", "default", "sale:BER1:x y"), ""],
            "note": ['=HYPERLINK("http://evil")', None],
            "count": pd.array([3, pd.NA], dtype="Int64"),
            "ids": [["a", "b"], []],
        }
    )
    hours = pd.DataFrame({"hour": ["09", "10"], "total": [1000, 2500]})
    return ReportResult(
        name="toy",
        title="Toy report",
        params=params or ReportParams(DAY, DAY),
        sections=(
            Section("by_store", "By store", frame, money=("total",)),
            Section(
                "by_hour",
                "By hour",
                hours,
                money=("total",),
                chart=Chart("bar", "hour", "total", "Sales by hour"),
            ),
        ),
    )


def test_params_refuse_bad_ranges() -> None:
    with pytest.raises(InvalidRequest):
        ReportParams(date(2026, 12, 2), date(2026, 12, 1))
    with pytest.raises(InvalidRequest):
        ReportParams(date(2025, 1, 1), date(2026, 12, 1))
    assert len(ReportParams(date(2026, 11, 29), DAY).days) == 2


def test_renderers_keep_money_exact_and_trace_rows() -> None:
    r = toy_result()
    j = to_json(r)
    assert j["sections"][0]["rows"][0]["total"] == 123456  # minor units in JSON
    assert j["sections"][0]["rows"][0]["workflow_link"] == (
        "http://ui:8233/namespaces/default/workflows/sale%3ABER1%3Ax%20y"
    )
    csv_one, kind = render(r, "csv", "by_store")
    assert kind == "csv" and b"1234.56" in csv_one and b"-0.50" in csv_one
    zipped, kind = render(r, "csv")
    assert kind == "zip"
    with zipfile.ZipFile(io.BytesIO(zipped)) as z:
        assert sorted(z.namelist()) == ["toy-by_hour.csv", "toy-by_store.csv"]
    xlsx, _ = render(r, "xlsx")
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(xlsx))
    assert wb.sheetnames == ["by_store", "by_hour"]
    cell = wb["by_store"]["D2"]
    assert cell.value == 1234.56 and "EUR" in cell.number_format
    page, _ = render(r, "html")
    assert page.count(b"<svg") == 1 and b"<script" not in page and b"http" in page
    assert b"1234.56" in page and b"href='http://ui:8233" in page
    with pytest.raises(InvalidRequest):
        render(r, "csv", "nope")
    # Missing values, lists and text a spreadsheet would run as a formula.
    assert j["sections"][0]["rows"][1]["count"] is None
    assert b"'=HYPERLINK" in csv_one and b"\n=HYPERLINK" not in csv_one
    assert wb["by_store"]["F2"].value == '\'=HYPERLINK("http://evil")'
    assert wb["by_store"]["G3"].value is None and wb["by_store"]["H2"].value == '["a", "b"]'


def test_day_close_arithmetic() -> None:
    berlin = StoreHours("Europe/Berlin", tuple(DayHours(d, 9 * 60, 20 * 60) for d in range(6)))
    lisbon = StoreHours("Europe/Lisbon", tuple(DayHours(d, 10 * 60, 20 * 60) for d in range(6)))
    grace = timedelta(minutes=60)
    # Monday 30 Nov 2026: Lisbon closes last, 20:00 local = 20:00 UTC; plus an hour.
    assert day_closed_at([berlin, lisbon], DAY, grace) == datetime(2026, 11, 30, 21, tzinfo=UTC)
    assert last_closed_day(
        [berlin, lisbon], datetime(2026, 11, 30, 20, 59, tzinfo=UTC), grace
    ) == date(2026, 11, 29)
    assert (
        last_closed_day([berlin, lisbon], datetime(2026, 11, 30, 21, 0, tzinfo=UTC), grace) == DAY
    )
    assert pack_schedule([berlin, lisbon], grace, DAY) == ("0 21 * * *", "Europe/Lisbon")


def test_scope_of_a_caller(db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    with db.unit_of_work() as s:
        ber = s.scalar(select(Location.id).where(Location.code == "BER"))
        sc = scopes.resolve(s, DAY, DAY, ["BER"])
        assert list(sc.stores["code"]) == ["BER"]
        start, end = sc.stores.iloc[0]["utc_from"], sc.stores.iloc[0]["utc_to"]
        assert start == datetime(2026, 11, 29, 23, tzinfo=UTC) and end == datetime(
            2026, 11, 30, 23, tzinfo=UTC
        )
        mine = scopes.resolve(s, DAY, DAY, allowed_location_ids={ber})
        assert list(mine.stores["code"]) == ["BER"]
        with pytest.raises(NotFound):
            scopes.resolve(s, DAY, DAY, ["LIS"], allowed_location_ids={ber})
        with pytest.raises(NotFound):
            scopes.resolve(s, DAY, DAY, ["BER"], ["NOPE1"])
        with pytest.raises(NotFound):
            scopes.resolve(s, DAY, DAY, channels=["fax"])
        sql, params = sc.bounds()
        got = read_frame(s, f"SELECT * FROM ({sql}) AS b(location_id, utc_from, utc_to)", params)
        assert list(got["location_id"]) == [ber]


# ---- a report of the test's own, registered for the API, CLI and pack tests -----------------


def _load(session: Any, sc: scopes.Scope, ctx: Any) -> dict[str, pd.DataFrame]:
    sql, params = sc.bounds()
    frame = read_frame(
        session,
        f"""SELECT l.code AS store, l.currency, count(o.id) AS sales,
                   coalesce(sum(o.total), 0) AS total
            FROM ({sql}) AS b(location_id, utc_from, utc_to)
            JOIN locations l ON l.id = b.location_id
            LEFT JOIN orders o ON o.location_id = b.location_id
                 AND o.placed_at >= b.utc_from AND o.placed_at < b.utc_to
            GROUP BY l.code, l.currency ORDER BY l.code""",
        params,
    )
    return {"by_store": frame}


def _build(frames: Any, params: ReportParams, ctx: Any) -> ReportResult:
    return ReportResult(
        name="test_orders",
        title="Orders per store",
        params=params,
        sections=(Section("by_store", "Orders per store", frames["by_store"], money=("total",)),),
    )


@pytest.fixture
def toy_report() -> Iterator[str]:
    registry.all_specs()  # the project's registrations first, so they do not replace this one
    spec = registry.ReportSpec(
        "test_orders", "Orders per store", "a test's", _load, _build, day_close=True
    )
    registry.register(spec)
    try:
        yield spec.name
    finally:
        registry.REPORTS.pop(spec.name, None)


async def test_api_scopes_reports_by_role(api, toy_report) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    fiona = await password_login(api, "fiona", "finance-demo")
    q = {"from": "2026-11-30", "to": "2026-11-30"}
    r = await api.get(f"/reports/{toy_report}", params=q, headers=fiona)
    assert r.status_code == 200, r.text
    stores = {row["store"] for row in r.json()["sections"][0]["rows"]}
    assert {"BER", "LIS"} <= stores
    listed = await api.get("/reports", headers=fiona)
    assert toy_report in {x["name"] for x in listed.json()}
    # A manager sees only their own stores; naming another is a 404 as if it did not exist.
    mgr = await _manager_of(api, "LIS")
    mine = await api.get(f"/reports/{toy_report}", params=q, headers=mgr)
    assert {row["store"] for row in mine.json()["sections"][0]["rows"]} == {"LIS"}
    other = await api.get(f"/reports/{toy_report}", params={**q, "store": "BER"}, headers=mgr)
    assert other.status_code == 404
    carl = await till_login(api)
    assert (await api.get(f"/reports/{toy_report}", params=q, headers=carl)).status_code == 403
    # Files, and clear 4xx for bad input.
    xlsx = await api.get(f"/reports/{toy_report}", params={**q, "format": "xlsx"}, headers=fiona)
    assert xlsx.status_code == 200 and xlsx.headers["content-disposition"].endswith('.xlsx"')
    for bad in [
        {"from": "2026-12-02", "to": "2026-12-01"},
        {"from": "yesterday", "to": "2026-12-01"},
        {**q, "format": "pdf"},
        {**q, "store": "X" * 40},
    ]:
        got = await api.get(f"/reports/{toy_report}", params=bad, headers=fiona)
        assert got.status_code == 422, (bad, got.text)
    assert (await api.get("/reports/nothing_here", params=q, headers=fiona)).status_code == 404


async def _manager_of(api: Any, store: str) -> dict[str, str]:
    admin = await password_login(api, "admin", "admin-demo")
    name = f"m{uuid.uuid4().hex[:8]}"
    r = await api.post(
        "/admin/users",
        headers=admin,
        json={
            "username": name,
            "display_name": "Lisbon Manager",
            "role": "manager",
            "locations": [store],
            "password": "Correct-Horse-Battery-9",
        },
    )
    assert r.status_code == 201, r.text
    return await password_login(api, name, "Correct-Horse-Battery-9")


def test_cli_writes_the_report(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    database_url, toy_report, tmp_path, test_settings, monkeypatch
) -> None:
    from tillflow.cli import main

    settings = test_settings.model_copy(update={"database_url": database_url})
    monkeypatch.setattr("tillflow.cli.get_settings", lambda: settings)
    out = tmp_path / "orders.csv"
    code = main(
        [
            "report",
            toy_report,
            "--from",
            "2026-11-30",
            "--to",
            "2026-11-30",
            "--store",
            "BER",
            "--out",
            str(out),
        ]
    )
    assert code == 0 and out.read_text().splitlines()[0] == "store,currency,sales,total"
    assert main(["report", toy_report, "--from", "2026-12-02", "--to", "2026-12-01"]) == 2
    assert main(["report", "--list"]) == 0


# ---- the daily pack -----------------------------------------------------------------------------


@pytest.fixture
async def skipping(db, toy_report) -> AsyncIterator[WorkflowEnvironment]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(Path(sys.executable).parent / "temporal-test-server"),
        data_converter=DATA_CONVERTER,
    )
    worker = Worker(
        env.client,
        task_queue="reports-pack-test",
        workflows=[DailyReportsWorkflow],
        activities=[
            *report_activities(db, registry.ReportContext),
            *reconciliation_activities(db, NoBalance()),  # no Stripe here: nothing to copy
            *accounting_activities(db),
            *stock_closing_activities(db),
        ],
        activity_executor=ThreadPoolExecutor(2),
        workflow_runner=sandbox_runner(),
    )
    async with worker:
        yield env
    await env.shutdown()


async def test_the_pack_waits_for_the_close_and_is_made_once(skipping, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    from contracts.reports import PACK_WORKFLOW, PackRequest, PackResult

    today = datetime.now(UTC).date()
    # A day to come in every store's timezone (after 23:00 UTC, tomorrow UTC is already today in
    # Berlin, full of the suite's sales): the pack sleeps until its last store has closed.
    day = today + timedelta(days=2)
    result: PackResult = await skipping.client.execute_workflow(
        PACK_WORKFLOW,
        PackRequest(business_date=day.isoformat(), grace_minutes=60),
        id=f"reports-pack-test-{uuid.uuid4().hex[:6]}",
        task_queue="reports-pack-test",
        result_type=PackResult,
    )
    assert result.business_date == day.isoformat()
    made = {f.report: f.files for f in result.files}
    # Every store's day went to the journal before the reports were made.
    assert {"J-BER-", "J-LIS-"} <= {ref[:6] for ref in result.exported}, result.not_exported
    assert set(made["test_orders"]) == {"xlsx", "html", "json"}
    with db.unit_of_work() as s:
        rows = s.scalars(
            select(ReportPack).where(
                ReportPack.business_date == day, ReportPack.report == "test_orders"
            )
        ).all()
        payload = next(r.content for r in rows if r.format == "json")
    assert len(rows) == 3 and json.loads(payload)["params"]["from"] == day.isoformat()
    again: PackResult = await skipping.client.execute_workflow(
        PACK_WORKFLOW,
        PackRequest(business_date=day.isoformat()),
        id=f"reports-pack-test-{uuid.uuid4().hex[:6]}",
        task_queue="reports-pack-test",
        result_type=PackResult,
    )
    assert {f.report: f.files for f in again.files}["test_orders"] == ()  # never rewritten
    with db.unit_of_work() as s:
        s.query(ReportPack).filter(ReportPack.business_date == day).delete()


async def test_the_schedule_makes_the_pack(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    temporal_client, db, api, toy_report
) -> None:
    """The real Schedule on the dev server, triggered now, makes the pack finance downloads."""
    from contracts.reports import PackRequest, start_pack_schedule

    queue = f"reports-sched-{uuid.uuid4().hex[:6]}"
    schedule_id = f"reports-daily-test-{uuid.uuid4().hex[:6]}"
    worker = Worker(
        temporal_client,
        task_queue=queue,
        workflows=[DailyReportsWorkflow],
        activities=[
            *report_activities(db, registry.ReportContext),
            *reconciliation_activities(db, NoBalance()),  # no Stripe here: nothing to copy
            *accounting_activities(db),
            *stock_closing_activities(db),
        ],
        activity_executor=ThreadPoolExecutor(2),
        workflow_runner=sandbox_runner(),
    )
    async with worker:
        await start_pack_schedule(
            temporal_client,
            PackRequest(grace_minutes=0),
            cron="0 21 * * *",
            timezone="Europe/Lisbon",
            task_queue=queue,
            schedule_id=schedule_id,
        )
        # Set again (store hours may change): an existing schedule takes the new spec.
        await start_pack_schedule(
            temporal_client,
            PackRequest(grace_minutes=0),
            cron="30 21 * * *",
            timezone="Europe/Lisbon",
            task_queue=queue,
            schedule_id=schedule_id,
        )
        handle = temporal_client.get_schedule_handle(schedule_id)
        desc = await handle.describe()
        cal = desc.schedule.spec.calendars[0]  # the server keeps a cron as a calendar
        assert (cal.hour[0].start, cal.minute[0].start) == (21, 30)
        assert desc.schedule.spec.time_zone_name == "Europe/Lisbon"
        await handle.trigger()
        from helpers.webstore import eventually

        with db.unit_of_work() as s:
            before = s.scalar(select(ReportPack.id).order_by(ReportPack.id.desc()).limit(1)) or 0

        def made() -> Any:
            with db.unit_of_work() as s:
                return s.scalars(
                    select(ReportPack.business_date).where(
                        ReportPack.id > before, ReportPack.report == "test_orders"
                    )
                ).all()

        days = await eventually(made, timeout=30)
        await handle.delete()
    fiona = await password_login(api, "fiona", "finance-demo")
    listed = await api.get(f"/reports/packs/{days[0]}", headers=fiona)
    files = {f["format"]: f["url"] for f in listed.json() if f["report"] == "test_orders"}
    assert set(files) == {"xlsx", "html", "json"}
    got = await api.get(files["html"], headers=fiona)
    assert got.status_code == 200 and got.content.startswith(b"<!doctype html>")
    carl = await till_login(api)
    assert (await api.get(f"/reports/packs/{days[0]}", headers=carl)).status_code == 403
