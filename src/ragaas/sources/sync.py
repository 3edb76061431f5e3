"""One sync run: list the source, submit what changed, delete what is gone, record it all.

Items go through ``documents.service.submit``, so unchanged content (same hash) costs nothing and
keeps its chunks, changed content is re-chunked and re-embedded by the ingestion jobs, and each
item commits in its own savepoint: a failing item is counted and reported, the others land.
For a full-listing connector, documents are deleted only after a complete listing — a source that
fails half-way deletes nothing; an incremental connector names what is gone (``Deleted``) and gets
the previous successful sync's time and cursor (``SyncState``).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from ragaas.documents.locks import lock_for_deletion
from ragaas.documents.service import Upload, submit
from ragaas.errors import AppError
from ragaas.models import DataSource, Document, SyncRun, SyncStatus
from ragaas.notifications import events
from ragaas.quotas.service import Defaults
from ragaas.runtime import Runtime
from ragaas.security.egress import EgressPolicy
from ragaas.sources import config as source_config
from ragaas.sources.connectors.base import (
    Connector,
    ConnectorError,
    Deleted,
    ItemError,
    SourceItem,
    SyncState,
)
from ragaas.sources.crypto import keyring_from
from ragaas.sources.registry import BuildContext

log = logging.getLogger(__name__)
COUNTS = ("seen", "added", "updated", "unchanged", "deleted", "failed")
COMMIT_EVERY_ITEMS = 50
COMMIT_EVERY_SECONDS = 2.0


class SyncFailed(Exception):
    """The run failed as a whole (recorded on the run); the job is retried with backoff."""


def build_context(runtime: Runtime) -> BuildContext:
    return BuildContext(
        folder_roots=list(runtime.settings.source_folder_roots),
        own_database_url=runtime.url,
        egress=EgressPolicy.from_settings(runtime.settings),  # SSRF guard (security/egress.py)
        query_timeout_seconds=runtime.settings.source_query_timeout_seconds,
    )


class _Recorder:
    """Counts and errors of a run, written to its row at each commit (progress while it runs)."""

    def __init__(self, run: SyncRun, keep_errors: int) -> None:
        self.run = run
        self.counts: Counter[str] = Counter(dict.fromkeys(COUNTS, 0))
        self.errors: list[dict[str, Any]] = []
        self.keep_errors = keep_errors

    def error(self, external_id: str | None, message: str) -> None:
        if len(self.errors) < self.keep_errors:
            self.errors.append({"external_id": external_id, "error": message})

    def flush(self) -> None:
        self.run.counts = dict(self.counts)
        self.run.errors = list(self.errors)


async def run_sync(runtime: Runtime, run_id: uuid.UUID) -> SyncRun | None:
    """Execute the queued run ``run_id``; None when it (or its source) no longer exists."""
    async with runtime.sessionmaker(expire_on_commit=False) as session:
        run = await session.get(SyncRun, run_id)
        source = await session.get(DataSource, run.data_source_id) if run else None
        if run is None or source is None:
            return None
        now = datetime.now(UTC)
        run.status, run.started_at, run.finished_at = SyncStatus.RUNNING, now, None
        run.attempts += 1
        source.last_refresh_at = now
        recorder = _Recorder(run, runtime.settings.sync_item_errors_kept)
        recorder.flush()
        await session.commit()
        try:
            connector = _connector(runtime, source)
            state = await _state(session, source)
            seen = await _submit_all(runtime, session, source, connector, state, recorder)
            if not connector.incremental:
                recorder.counts["deleted"] += await _delete(session, source.id, keep=seen)
            source.sync_state = {"since": now.isoformat(), "cursor": state.next_cursor}
        except (ConnectorError, SyncFailed) as exc:
            await _finish(session, recorder, SyncStatus.FAILED, str(exc))
            raise SyncFailed(str(exc)) from exc
        except Exception as exc:
            log.exception("sync run %s failed", run_id)
            await _finish(session, recorder, SyncStatus.FAILED, "internal error; see the logs")
            raise SyncFailed("internal error") from exc
        await _finish(session, recorder, SyncStatus.SUCCEEDED, None)
        return run


def _connector(runtime: Runtime, source: DataSource) -> Connector:
    keyring = keyring_from(runtime.settings)
    try:
        config = source_config.open_(source.type, source.config, keyring, source.organization_id)
        connector: Connector = source_config.connector_type(source.type).build(
            config, build_context(runtime)
        )
    except (ValueError, AppError) as exc:
        raise SyncFailed(f"the source's config is not usable: {exc}") from exc
    return connector


async def _state(session: AsyncSession, source: DataSource) -> SyncState:
    previous = source.sync_state or {}
    since = previous.get("since")
    known = await session.scalars(
        select(Document.external_id).where(
            Document.data_source_id == source.id, Document.external_id.is_not(None)
        )
    )
    return SyncState(
        since=datetime.fromisoformat(since) if since else None,
        cursor=previous.get("cursor"),
        known_ids=frozenset(i for i in known if i is not None),
    )


async def _submit_all(
    runtime: Runtime,
    session: AsyncSession,
    source: DataSource,
    connector: Connector,
    state: SyncState,
    recorder: _Recorder,
) -> set[str]:
    seen: set[str] = set()
    pending, last_commit = 0, time.monotonic()
    async for item in connector.items(state):
        if isinstance(item, Deleted):
            recorder.counts["deleted"] += await _delete(session, source.id, only=item.external_id)
            continue
        seen.add(item.external_id)
        recorder.counts["seen"] += 1
        if isinstance(item, ItemError):
            recorder.counts["failed"] += 1
            recorder.error(item.external_id, item.message)
        else:
            await _submit_one(runtime, session, source, item, recorder)
        pending += 1
        if pending >= COMMIT_EVERY_ITEMS or time.monotonic() - last_commit > COMMIT_EVERY_SECONDS:
            recorder.flush()
            await session.commit()
            pending, last_commit = 0, time.monotonic()
    return seen


async def _submit_one(
    runtime: Runtime,
    session: AsyncSession,
    source: DataSource,
    item: SourceItem,
    recorder: _Recorder,
) -> None:
    upload = Upload(
        data=item.content,
        title=item.title,
        content_type=item.content_type,
        filename=item.filename,
        external_id=item.external_id,
        url=item.url,
        metadata=item.metadata,
        labels=list(source.labels),
        data_source_id=source.id,
    )
    try:
        async with session.begin_nested():
            submitted = await submit(
                session,
                runtime.blobs,
                source.organization_id,
                upload,
                runtime.settings.max_upload_bytes,
                Defaults.of(runtime.settings),
            )
    except AppError as exc:
        recorder.counts["failed"] += 1
        recorder.error(item.external_id, exc.message)
        return
    outcome = "unchanged" if submitted.duplicate else "updated" if submitted.replaced else "added"
    recorder.counts[outcome] += 1


async def _delete(
    session: AsyncSession,
    source_id: uuid.UUID,
    *,
    keep: set[str] | None = None,
    only: str | None = None,
) -> int:
    """Delete the source's documents not in ``keep``, or the one ``only``; chunks cascade.

    What the run submitted so far is committed first: its updated documents stay locked until
    commit, and the embedding job may be waiting to mark one of them ready (documents/locks.py)."""
    await session.commit()
    condition = Document.data_source_id == source_id
    if keep is not None:
        condition &= Document.external_id.not_in(keep)
    if only is not None:
        condition &= Document.external_id == only
    await lock_for_deletion(session, condition)
    deleted = (
        await session.execute(delete(Document).where(condition).returning(Document.id))
    ).all()
    return len(deleted)


async def _finish(
    session: AsyncSession, recorder: _Recorder, status: str, error: str | None
) -> None:
    run = recorder.run
    if error is not None:
        await session.rollback()  # whatever the failure left half-done; committed items stay
        recorder.error(None, error)
        await events.sync_failed(session, run, error)
    recorder.flush()
    run.status, run.finished_at = status, datetime.now(UTC)
    session.add(run)
    await session.commit()
