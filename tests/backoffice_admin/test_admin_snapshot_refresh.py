"""The till's offline snapshot is fetched again when the catalogue changes (a new outbox row),
not only on its timer; an unchanged catalogue costs one small version call, no download."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from api.app import create_app
from db.repositories import catalog_outbox
from tills.config import AgentConfig
from tills.till import TillAgent


async def test_catalogue_change_refreshes_the_snapshot(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db, temporal_client, test_settings, gateway, tmp_path: Path
) -> None:
    app = create_app(
        test_settings, db=db, client=temporal_client, gateway=gateway, run_worker=False
    )
    async with app.router.lifespan_context(app):
        config = AgentConfig(
            till="BER2",
            api_url="http://tillflow.test",
            data_dir=tmp_path,
            snapshot_refresh=3600,  # the timer would not fetch again during this test
            version_poll=0,  # ask for the version on every round of the link monitor
        )
        agent = TillAgent(config, transport=httpx.ASGITransport(app=app))
        agent.hub.bind(asyncio.get_running_loop())
        try:
            await agent.login("1002", "2345")  # Cora at BER2: the first snapshot
            first = agent.snapshot
            assert first is not None and first.version

            await agent.refresh_snapshot()  # nothing changed: the snapshot stays
            assert agent.snapshot is first

            with db.unit_of_work() as s:
                change = catalog_outbox.record(s, "MUG-ENAMEL", fields=["name"], source="test")
            await agent.refresh_snapshot()
            second = agent.snapshot
            assert second is not first and second is not None
            assert second.version != first.version
            assert int(second.version.split(".")[0]) >= change  # the outbox row is in it
            assert second.fetched_at >= first.fetched_at

            await agent.refresh_snapshot()
            assert agent.snapshot is second
        finally:
            await agent.central.close()
