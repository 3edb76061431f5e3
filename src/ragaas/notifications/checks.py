"""The periodic kinds: conditions that are true for a while (a stale source, a high error rate).

They are evaluated every minute by ``notifications.check`` and alert once per episode:

- ``source_stale``: a source is stale when its last successful sync (or, never synced, its
  creation) is more than ``threshold`` hours before now. The episode is that reference time: one
  notification per source and reference (dedup key), so the next success starts a new episode.
- ``error_rate``: over the window ``(now - window_minutes, now]``, the share
  ``(blocked queries + documents that failed) / (queries + documents that finished)`` in percent,
  where queries are ``query_history`` rows (search and chat) created in the window and documents
  finished are those whose status became ``ready`` or ``failed`` in it (``updated_at``). It alerts
  when the rate is above ``threshold`` with at least ``min_events`` in the denominator; the
  episode lasts (``state.firing_since``) until a check finds it at or below the threshold again.

``now`` is a parameter so the checks can be run against a controlled clock.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ragaas.models import (
    Alert,
    DataSource,
    Document,
    DocumentStatus,
    QueryHistory,
    SyncRun,
    SyncStatus,
)
from ragaas.notifications import events
from ragaas.notifications.service import deliver_event
from ragaas.runtime import Runtime

log = logging.getLogger(__name__)


async def run_checks(
    runtime: Runtime, now: datetime | None = None, organization_id: uuid.UUID | None = None
) -> int:
    """Evaluate every active periodic alert (of one organisation if given); returns deliveries
    created. Each alert is checked in its own transaction, holding its row lock, so concurrent
    checkers never alert twice for one episode."""
    now = now or datetime.now(UTC)
    stmt = select(Alert.id).where(Alert.kind.in_(events.PERIODIC_KINDS), Alert.active.is_(True))
    if organization_id is not None:
        stmt = stmt.where(Alert.organization_id == organization_id)
    async with runtime.sessionmaker() as session:
        alert_ids = list(await session.scalars(stmt.order_by(Alert.created_at)))
    created = 0
    for alert_id in alert_ids:
        try:
            created += await _check_one(runtime, alert_id, now)
        except Exception:
            log.exception("alert %s: the periodic check failed", alert_id)
    return created


async def _check_one(runtime: Runtime, alert_id: uuid.UUID, now: datetime) -> int:
    async with runtime.sessionmaker() as session:
        alert = (
            await session.scalars(
                select(Alert).where(Alert.id == alert_id, Alert.active.is_(True)).with_for_update()
            )
        ).first()
        if alert is None:
            return 0
        if alert.kind == events.SOURCE_STALE:
            created = await check_stale(session, alert, now)
        else:
            created = await check_error_rate(session, alert, now)
        await session.commit()
        return created


async def check_stale(session: AsyncSession, alert: Alert, now: datetime) -> int:
    """Alert on each source of the organisation (or the one) stale for ``threshold`` hours."""
    hours = alert.threshold or 0
    last_success = (
        func.max(SyncRun.finished_at)
        .filter(SyncRun.status == SyncStatus.SUCCEEDED, SyncRun.finished_at <= now)
        .label("last_success")
    )
    stmt = (
        select(DataSource.id, DataSource.name, DataSource.type, DataSource.created_at, last_success)
        .outerjoin(SyncRun, SyncRun.data_source_id == DataSource.id)
        .where(DataSource.organization_id == alert.organization_id, DataSource.created_at <= now)
        .group_by(DataSource.id)
    )
    if alert.source_id is not None:
        stmt = stmt.where(DataSource.id == alert.source_id)
    created = 0
    for source_id, name, type_, created_at, success in (await session.execute(stmt)).all():
        since: datetime = success or created_at
        if now - since < timedelta(hours=hours):
            continue
        data = {
            "source_id": str(source_id),
            "source_name": name,
            "source_type": type_,
            "last_success_at": success.isoformat() if success else None,
            "since": since.isoformat(),
            "hours_since": round((now - since).total_seconds() / 3600, 1),
            "threshold_hours": hours,
        }
        event = events.envelope(alert.organization_id, events.SOURCE_STALE, data, occurred_at=now)
        created += len(await deliver_event(session, alert, event))
    return created


async def error_counts(
    session: AsyncSession, organization_id: uuid.UUID, start: datetime, end: datetime
) -> dict[str, int]:
    """Queries and finished documents in ``(start, end]``, and how many of each went wrong."""
    queries = (
        await session.execute(
            select(func.count(), func.count().filter(QueryHistory.blocked.is_(True))).where(
                QueryHistory.organization_id == organization_id,
                QueryHistory.created_at > start,
                QueryHistory.created_at <= end,
            )
        )
    ).one()
    finished = (DocumentStatus.READY, DocumentStatus.FAILED)
    documents = (
        await session.execute(
            select(
                func.count(), func.count().filter(Document.status == DocumentStatus.FAILED)
            ).where(
                and_(
                    Document.organization_id == organization_id,
                    Document.status.in_(finished),
                    Document.updated_at > start,
                    Document.updated_at <= end,
                )
            )
        )
    ).one()
    return {
        "queries": queries[0],
        "blocked_queries": queries[1],
        "documents": documents[0],
        "failed_documents": documents[1],
    }


async def check_error_rate(session: AsyncSession, alert: Alert, now: datetime) -> int:
    """Alert when the error rate crosses the threshold; once until it comes back down."""
    window = alert.window_minutes or 15
    start = now - timedelta(minutes=window)
    counts = await error_counts(session, alert.organization_id, start, now)
    total = counts["queries"] + counts["documents"]
    failed = counts["blocked_queries"] + counts["failed_documents"]
    rate = round(100 * failed / total, 2) if total else 0.0
    threshold = alert.threshold or 0
    above = total >= (alert.min_events or 1) and rate > threshold
    firing = (alert.state or {}).get("firing_since")
    if above == bool(firing):
        return 0
    state: dict[str, Any] = {}
    created = 0
    if above:
        state = {"firing_since": now.isoformat(), "rate_percent": rate}
        data = {
            "rate_percent": rate,
            "threshold_percent": threshold,
            "window_minutes": window,
            "window_start": start.isoformat(),
            "window_end": now.isoformat(),
            "min_events": alert.min_events,
            **counts,
        }
        event = events.envelope(alert.organization_id, events.ERROR_RATE, data, occurred_at=now)
        created = len(await deliver_event(session, alert, event))
    # The episode is state, not configuration: updated_at stays as the user left it.
    await session.execute(
        update(Alert).where(Alert.id == alert.id).values(state=state, updated_at=Alert.updated_at)
    )
    return created
