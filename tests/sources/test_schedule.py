"""Cron schedules: a due source is queued by the scheduler job and synced by the worker."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from sqlalchemy import select

from ragaas.models import DataSource
from ragaas.runtime import Runtime
from ragaas.settings import Settings
from ragaas.sources.tasks import enqueue_due
from tests.conftest import Tenant
from tests.sources.helpers import create_source, source_documents, wait_for_run


async def test_a_source_syncs_when_its_cron_time_comes(
    client: httpx.AsyncClient, tenant: Tenant, settings: Settings, runtime: Runtime
) -> None:
    folder = settings.source_folder_roots[0] / uuid.uuid4().hex
    folder.mkdir()
    (folder / "note.txt").write_text("The nightly build starts at two in the morning.")
    source = await create_source(
        client,
        tenant,
        name="Nightly",
        type="file",
        config={"path": str(folder)},
        cron="30 2 * * *",
    )
    assert source["next_sync_at"] is not None
    async with runtime.sessionmaker() as session:
        row = await session.scalar(select(DataSource).where(DataSource.id == source["id"]))
        assert row is not None
        fire = row.next_sync_at
    assert fire is not None
    assert (fire.hour, fire.minute) == (2, 30)

    # The clock the test controls: a minute before, nothing; at the time, one run is queued.
    assert await enqueue_due(runtime, now=fire - timedelta(minutes=1)) == 0
    assert await enqueue_due(runtime, now=fire + timedelta(seconds=5)) == 1
    assert await enqueue_due(runtime, now=fire + timedelta(seconds=10)) == 0  # not twice

    runs = await client.get(f"/v1/data-sources/{source['id']}/runs", headers=tenant.headers)
    (queued,) = runs.json()
    assert queued["trigger"] == "schedule"
    run = await wait_for_run(client, tenant, source["id"], queued["id"], 60)
    assert run["status"] == "succeeded", run
    assert run["counts"]["added"] == 1
    assert [d["external_id"] for d in await source_documents(client, tenant, source["id"])] == [
        "note.txt"
    ]
    described = await client.get(f"/v1/data-sources/{source['id']}", headers=tenant.headers)
    assert described.json()["next_sync_at"] > source["next_sync_at"]  # the next night


def test_the_scheduler_runs_every_minute_on_the_worker(runtime: Runtime) -> None:
    periodic = {t.periodic_id: t for t in runtime.jobs.periodic_registry.periodic_tasks.values()}
    assert periodic["sources-schedule"].task.name == "sources.schedule"
    assert periodic["sources-schedule"].cron == "* * * * *"
