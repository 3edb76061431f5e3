"""/v1/data-sources: connected sources, their syncs and sync history."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy import select

from ragaas.audit import changed, record
from ragaas.auth.dependencies import DataRead, DataWrite
from ragaas.db import Session
from ragaas.documents.locks import lock_for_deletion
from ragaas.models import DataSource, Document, SyncRun
from ragaas.runtime import Runtime
from ragaas.sources import service
from ragaas.sources.crypto import keyring_from
from ragaas.sources.registry import CONNECTOR_TYPES
from ragaas.sources.schemas import DataSourceCreate, DataSourceOut, DataSourceUpdate, SyncRunOut
from ragaas.sources.sync import build_context

router = APIRouter(prefix="/v1/data-sources", tags=["data sources"])


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


@router.get("/types", operation_id="data_source_types")
async def list_types(principal: DataRead) -> list[dict[str, Any]]:
    """The connector types this server knows, each with the JSON schema of its config."""
    return [
        {
            "type": name,
            "description": t.description,
            "config_schema": t.config_model.model_json_schema(),
        }
        for name, t in sorted(CONNECTOR_TYPES.items())
    ]


@router.post("", status_code=status.HTTP_201_CREATED, operation_id="data_sources_create")
async def create(
    body: DataSourceCreate, request: Request, principal: DataWrite, session: Session
) -> DataSourceOut:
    """Connect a source; its secrets are sealed at rest and never returned."""
    runtime = _runtime(request)
    source = await service.create(
        session,
        principal.organization_id,
        body,
        keyring_from(runtime.settings),
        build_context(runtime),
    )
    details = {"name": source.name, "type": source.type, "config_keys": sorted(body.config)}
    record(session, principal, "source.create", "data_source", source.id, details, request)
    await session.commit()
    return await service.describe(session, source)


@router.get("", operation_id="data_sources_list")
async def list_sources(principal: DataRead, session: Session) -> list[DataSourceOut]:
    """The organisation's data sources."""
    repo = service.DataSourceRepository(session, principal.organization_id)
    sources = await session.scalars(repo.base().order_by(DataSource.created_at))
    return [await service.describe(session, s) for s in sources]


@router.get("/{source_id}", operation_id="data_sources_get")
async def get(source_id: uuid.UUID, principal: DataRead, session: Session) -> DataSourceOut:
    """One data source, with its last run."""
    source = await service.DataSourceRepository(session, principal.organization_id).get(source_id)
    return await service.describe(session, source)


@router.patch("/{source_id}", operation_id="data_sources_update")
async def update(
    source_id: uuid.UUID,
    body: DataSourceUpdate,
    request: Request,
    principal: DataWrite,
    session: Session,
) -> DataSourceOut:
    """Change a source's name, config, labels or schedule (labels apply from its next sync)."""
    runtime = _runtime(request)
    source = await service.DataSourceRepository(session, principal.organization_id).get(source_id)
    await service.update(
        session, source, body, keyring_from(runtime.settings), build_context(runtime)
    )
    details = {"name": source.name, "changed": changed(body)}
    record(session, principal, "source.update", "data_source", source.id, details, request)
    await session.commit()
    return await service.describe(session, source)


@router.delete(
    "/{source_id}", status_code=status.HTTP_204_NO_CONTENT, operation_id="data_sources_delete"
)
async def delete(
    source_id: uuid.UUID, request: Request, principal: DataWrite, session: Session
) -> Response:
    """Disconnect a source: its documents, chunks and run history go with it."""
    source = await service.DataSourceRepository(session, principal.organization_id).get(source_id)
    details = {"name": source.name, "type": source.type}
    await lock_for_deletion(session, Document.data_source_id == source.id)
    record(session, principal, "source.delete", "data_source", source.id, details, request)
    await session.delete(source)
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{source_id}/sync", status_code=status.HTTP_202_ACCEPTED, operation_id="data_sources_sync"
)
async def sync(
    source_id: uuid.UUID, request: Request, principal: DataWrite, session: Session
) -> SyncRunOut:
    """Sync now; if a sync of this source is already queued or running, that run is returned."""
    source = await service.DataSourceRepository(session, principal.organization_id).get(source_id)
    run = await service.request_sync(session, source, "manual")
    details = {"name": source.name, "run_id": run.id}
    record(session, principal, "source.sync", "data_source", source.id, details, request)
    await session.commit()
    return SyncRunOut.model_validate(run)


@router.get("/{source_id}/runs", operation_id="data_sources_runs")
async def runs(
    source_id: uuid.UUID,
    principal: DataRead,
    session: Session,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> list[SyncRunOut]:
    """The source's sync runs, newest first, with counts and errors (live while running)."""
    await service.DataSourceRepository(session, principal.organization_id).get(source_id)
    stmt = (
        select(SyncRun)
        .where(SyncRun.data_source_id == source_id)
        .order_by(SyncRun.created_at.desc())
        .limit(limit)
    )
    return [SyncRunOut.model_validate(r) for r in await session.scalars(stmt)]
