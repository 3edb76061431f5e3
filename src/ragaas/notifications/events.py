"""Events worth an alert, and ``emit``: the one call the rest of Ragaas makes to report one.

``emit`` runs inside the caller's transaction and only enqueues a ``notifications.dispatch`` job
(when the organisation has an active alert of that kind): matching alerts, writing deliveries and
sending happen in the worker. A hook therefore costs one indexed query (two with a job) and can
never fail its request: any error here is logged and swallowed inside a savepoint.

This module is imported by hot paths (search, chat, sync, feedback): it imports nothing heavy.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from ragaas.jobs.queue import enqueue
from ragaas.models import Alert, DataSource, QueryHistory, SyncRun

if TYPE_CHECKING:
    from ragaas.rules.guard import Guarded

log = logging.getLogger(__name__)

SYNC_FAILED = "sync_failed"
SOURCE_STALE = "source_stale"
GUARDRAIL_FIRED = "guardrail_fired"
LOW_RATING = "low_rating"
ERROR_RATE = "error_rate"
TEST = "test"
KINDS = (SYNC_FAILED, SOURCE_STALE, GUARDRAIL_FIRED, LOW_RATING, ERROR_RATE)
PERIODIC_KINDS = (SOURCE_STALE, ERROR_RATE)

DISPATCH_TASK = "notifications.dispatch"
TEXT_CHARS = 500  # query and answer text carried in an event


def envelope(
    organization_id: uuid.UUID,
    kind: str,
    data: Mapping[str, Any],
    *,
    event_id: uuid.UUID | None = None,
    occurred_at: datetime | None = None,
) -> dict[str, Any]:
    """The JSON every channel carries: ``{id, kind, organization_id, occurred_at, data}``."""
    return {
        "id": str(event_id or uuid.uuid4()),
        "kind": kind,
        "organization_id": str(organization_id),
        "occurred_at": (occurred_at or datetime.now(UTC)).isoformat(),
        "data": dict(data),
    }


async def emit(
    session: AsyncSession,
    organization_id: uuid.UUID,
    kind: str,
    payload: Mapping[str, Any] | None,
) -> None:
    """Report an event in the caller's transaction; ``payload`` None means nothing happened.

    The job exists iff the caller commits, so a rolled-back request alerts no one.
    """
    if payload is None:
        return
    await session.flush()  # the caller's own pending writes fail (or not) on their own
    try:
        async with session.begin_nested():
            wanted = await session.scalar(
                select(literal(1))
                .where(
                    Alert.organization_id == organization_id,
                    Alert.kind == kind,
                    Alert.active.is_(True),
                )
                .limit(1)
            )
            if wanted:
                event = envelope(organization_id, kind, payload)
                await enqueue(session, DISPATCH_TASK, {"event": event})
    except Exception:
        log.exception("could not report a %s event; no alert will be sent for it", kind)


async def sync_failed(session: AsyncSession, run: SyncRun, error: str) -> None:
    """Report a failed sync attempt (called right after the run's transaction rolled back).

    The rollback expired the run, so it is reloaded here; alerts dedupe on the run id, so a run
    whose retries fail again is reported once.
    """
    try:
        await session.refresh(run)
        source = await session.get(DataSource, run.data_source_id)
        payload = {
            "run_id": str(run.id),
            "source_id": str(run.data_source_id),
            "source_name": source.name if source else None,
            "source_type": source.type if source else None,
            "trigger": run.trigger,
            "attempt": run.attempts,
            "error": error,
        }
        organization_id = run.organization_id
    except Exception:
        log.exception("could not report the failed sync run")
        return
    await emit(session, organization_id, SYNC_FAILED, payload)


def fired(guard: Guarded, source: str, query_id: uuid.UUID | None = None) -> dict[str, Any] | None:
    """The guardrail_fired payload of a query, or None when no rule fired on it."""
    state = guard.state
    if not state.fired:
        return None
    return {
        "source": source,  # search | chat
        "query_id": str(query_id) if query_id else None,
        "query": state.query[:TEXT_CHARS],
        "blocked": state.blocked is not None,
        "message": state.blocked,
        "rules": state.fired,
        "user_id": str(guard.principal.user_id),
        "user_email": state.user.get("email") or None,
        "api_key_id": str(guard.principal.api_key_id) if guard.principal.api_key_id else None,
    }


def rated(row: QueryHistory) -> dict[str, Any]:
    """The low_rating payload of a rated query (alerts compare ``rating`` to their threshold)."""
    return {
        "query_id": str(row.id),
        "rating": row.rating,
        "comment": row.feedback_comment,
        "source": row.kind,
        "query": row.query[:TEXT_CHARS],
        "answer": (row.answer or "")[:TEXT_CHARS] or None,
        "config_name": row.config_name,
        "user_id": str(row.user_id) if row.user_id else None,
    }


def dedup_key(kind: str, data: Mapping[str, Any]) -> str | None:
    """What makes two events the same for an alert (None: every event is new)."""
    if kind == SYNC_FAILED:
        return f"run:{data['run_id']}"
    if kind == LOW_RATING:
        return f"query:{data['query_id']}"
    if kind == SOURCE_STALE:
        return f"stale:{data['source_id']}:{data['since']}"
    return None


def _n(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def summary(kind: str, data: Mapping[str, Any]) -> str:
    """One human line about the event (e-mail subject, and ``data.summary`` of webhooks)."""
    if kind == SYNC_FAILED:
        return f"Sync of data source {data.get('source_name')!r} failed: {data.get('error')}"
    if kind == SOURCE_STALE:
        return (
            f"Data source {data.get('source_name')!r} has had no successful sync for "
            f"{_n(data.get('hours_since'))} hours (threshold {_n(data.get('threshold_hours'))})"
        )
    if kind == GUARDRAIL_FIRED:
        names = ", ".join(repr(r.get("name")) for r in data.get("rules", []))
        verb = "blocked" if data.get("blocked") else "fired on"
        return f"Rule {names} {verb} a {data.get('source', 'query')} query"
    if kind == LOW_RATING:
        return f"An answer was rated {data.get('rating')}/5"
    if kind == ERROR_RATE:
        return (
            f"Error rate {_n(data.get('rate_percent'))}% over the last "
            f"{data.get('window_minutes')} minutes (threshold {_n(data.get('threshold_percent'))}%)"
        )
    if kind == TEST:
        return f"Test notification of alert {data.get('alert_name')!r}"
    return kind
