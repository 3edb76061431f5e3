"""Data sources: create, change, delete, and ask for a sync."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from croniter import croniter
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ragaas.errors import Conflict, Unprocessable
from ragaas.jobs.queue import enqueue
from ragaas.models import DataSource, Document, SyncRun, SyncStatus
from ragaas.sources import config as source_config
from ragaas.sources.crypto import Keyring, SecretError
from ragaas.sources.registry import BuildContext
from ragaas.sources.schemas import DataSourceCreate, DataSourceOut, DataSourceUpdate, SyncRunOut
from ragaas.tenancy.repository import OrgRepository

SYNC_TASK = "sources.sync"


class DataSourceRepository(OrgRepository[DataSource]):
    model = DataSource
    noun = "data source"


class SyncRunRepository(OrgRepository[SyncRun]):
    model = SyncRun
    noun = "sync run"


def next_fire(cron: str | None, after: datetime) -> datetime | None:
    """The schedule's next time strictly after ``after`` (UTC), or None without a schedule."""
    if not cron:
        return None
    fire: datetime = croniter(cron, after.astimezone(UTC)).get_next(datetime)
    return fire


def _check_cron(cron: str | None) -> str | None:
    if cron is None or cron.strip() == "":
        return None
    cron = " ".join(cron.split())
    if len(cron.split()) != 5 or not croniter.is_valid(cron):
        raise Unprocessable(f"cron {cron!r} is not a valid 5-field cron expression")
    return cron


def _check_connector(type_name: str, config: BaseModel, ctx: BuildContext) -> None:
    try:
        source_config.connector_type(type_name).build(config, ctx)
    except ValueError as exc:
        raise Unprocessable(f"invalid {type_name} config: {exc}") from None


async def create(
    session: AsyncSession,
    organization_id: uuid.UUID,
    body: DataSourceCreate,
    keyring: Keyring,
    ctx: BuildContext,
) -> DataSource:
    config = source_config.validate(body.type, body.config)
    _check_connector(body.type, config, ctx)
    cron = _check_cron(body.cron)
    source = DataSourceRepository(session, organization_id).add(
        DataSource(
            id=uuid.uuid4(),
            name=body.name,
            type=body.type,
            config=source_config.seal(config, keyring, organization_id),
            labels=body.labels,
            cron=cron,
            next_sync_at=next_fire(cron, datetime.now(UTC)),
        )
    )
    await session.flush()
    return source


async def update(
    session: AsyncSession,
    source: DataSource,
    body: DataSourceUpdate,
    keyring: Keyring,
    ctx: BuildContext,
) -> DataSource:
    if body.name is not None:
        source.name = body.name
    if body.labels is not None:
        source.labels = body.labels
    if body.config is not None:
        previous = source_config.open_(source.type, source.config, keyring, source.organization_id)
        config = source_config.validate(source.type, body.config, previous)
        _check_connector(source.type, config, ctx)
        source.config = source_config.seal(config, keyring, source.organization_id)
        # A cursor taken under the old config may not fit the new one: the next sync starts over.
        source.sync_state = {}
    if body.cron is not None:
        source.cron = _check_cron(body.cron)
        source.next_sync_at = next_fire(source.cron, datetime.now(UTC))
    await session.flush()
    return source


async def request_sync(session: AsyncSession, source: DataSource, trigger: str) -> SyncRun:
    """A queued run of this source, or the one already queued or running (syncs never pile up)."""
    active = await session.scalars(
        select(SyncRun)
        .where(SyncRun.data_source_id == source.id, SyncRun.status.in_(SyncStatus.ACTIVE))
        .order_by(SyncRun.created_at.desc())
        .limit(1)
    )
    if (run := active.first()) is not None:
        return run
    run = SyncRunRepository(session, source.organization_id).add(
        SyncRun(
            id=uuid.uuid4(), data_source_id=source.id, trigger=trigger, status=SyncStatus.QUEUED
        )
    )
    await session.flush()
    # The job lock makes runs of one source strictly sequential, whatever the worker count.
    await enqueue(session, SYNC_TASK, {"run_id": str(run.id)}, lock=f"source:{source.id}")
    return run


async def describe(session: AsyncSession, source: DataSource) -> DataSourceOut:
    count = await session.scalar(
        select(func.count()).select_from(Document).where(Document.data_source_id == source.id)
    )
    last = (
        await session.scalars(
            select(SyncRun)
            .where(SyncRun.data_source_id == source.id)
            .order_by(SyncRun.created_at.desc())
            .limit(1)
        )
    ).first()
    return DataSourceOut(
        id=source.id,
        name=source.name,
        type=source.type,
        config=source_config.masked(source.type, source.config),
        labels=source.labels,
        cron=source.cron,
        next_sync_at=source.next_sync_at,
        last_refresh_at=source.last_refresh_at,
        created_at=source.created_at,
        document_count=count or 0,
        last_run=SyncRunOut.model_validate(last) if last else None,
    )


async def reseal_all(session: AsyncSession, keyring: Keyring) -> int:
    """Re-seal every stored secret under the keyring's current key; returns how many changed."""
    changed = 0
    for source in await session.scalars(select(DataSource).with_for_update()):
        stored = dict(source.config)
        try:
            count = source_config.reseal(stored, keyring, source.organization_id)
        except SecretError as exc:
            # All or nothing: the caller's transaction is rolled back.
            raise Conflict(f"data source {source.id}: {exc}; nothing was re-sealed") from exc
        if count:
            source.config = stored
            changed += count
    await session.flush()
    return changed
