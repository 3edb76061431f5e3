"""The analytics reports: aggregate SQL over the organisation's query history.

Every report takes the organisation and a time window [since, until) and returns rows as plain
dicts (the same rows feed JSON and CSV). Numbers come from what ``record_query`` stored: the
``metrics`` JSON (timings_ms per stage, tokens_in/out, cost, results/retrieved, rules fired) and the
``citations`` list.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class Window:
    organization_id: uuid.UUID
    since: datetime
    until: datetime

    def params(self, **extra: Any) -> dict[str, Any]:
        return {"org": self.organization_id, "since": self.since, "until": self.until, **extra}


async def _rows(session: AsyncSession, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    result = await session.execute(text(sql), params)
    return [dict(r._mapping) for r in result]


async def volume(session: AsyncSession, w: Window, interval: str) -> list[dict[str, Any]]:
    """Queries per hour or day: total, searches, chats, blocked."""
    sql = """
        SELECT date_trunc(:interval, q.created_at, 'UTC') AS bucket, count(*) AS total,
               count(*) FILTER (WHERE q.kind = 'search') AS search,
               count(*) FILTER (WHERE q.kind = 'chat') AS chat,
               count(*) FILTER (WHERE q.blocked) AS blocked
        FROM query_history q WHERE q.organization_id = :org
          AND q.created_at >= :since AND q.created_at < :until
        GROUP BY bucket ORDER BY bucket
    """
    return await _rows(session, sql, w.params(interval=interval))


async def latency(session: AsyncSession, w: Window) -> list[dict[str, Any]]:
    """p50 / p95 / max per recorded stage (ms), over the queries that timed it."""
    sql = """
        SELECT t.key AS stage, count(*) AS queries,
               round(percentile_cont(0.5) WITHIN GROUP (ORDER BY t.value::float8)::numeric, 2)
                   AS p50_ms,
               round(percentile_cont(0.95) WITHIN GROUP (ORDER BY t.value::float8)::numeric, 2)
                   AS p95_ms,
               round(max(t.value::float8)::numeric, 2) AS max_ms
        FROM query_history q, jsonb_each_text(q.metrics -> 'timings_ms') AS t
        WHERE q.organization_id = :org
          AND q.created_at >= :since AND q.created_at < :until
          AND jsonb_typeof(q.metrics -> 'timings_ms') = 'object'
        GROUP BY t.key ORDER BY t.key
    """
    return await _rows(session, sql, w.params())


_USAGE_KEYS = {
    "user": "q.user_id::text",
    "config": "coalesce(q.config_name, '(default)')",
    "day": "to_char(date_trunc('day', q.created_at, 'UTC'), 'YYYY-MM-DD')",
    "model": "coalesce(q.metrics ->> 'llm_model', '(none)')",
}


async def usage(session: AsyncSession, w: Window, group_by: str) -> list[dict[str, Any]]:
    """Queries, tokens in/out and cost per user, config, day or model."""
    key = _USAGE_KEYS[group_by]
    # Only a whitelisted column expression is put into the SQL (_USAGE_KEYS); values are bound.
    sql = _USAGE.format(key=key, name=group_by)
    return await _rows(session, sql, w.params())


_USAGE = """
        SELECT {key} AS {name}, count(*) AS queries,
               coalesce(sum((q.metrics ->> 'tokens_in')::bigint), 0) AS tokens_in,
               coalesce(sum((q.metrics ->> 'tokens_out')::bigint), 0) AS tokens_out,
               round(coalesce(sum((q.metrics ->> 'cost')::numeric), 0), 6) AS cost
        FROM query_history q WHERE q.organization_id = :org
          AND q.created_at >= :since AND q.created_at < :until
        GROUP BY 1 ORDER BY cost DESC, queries DESC, 1
"""


async def top_queries(session: AsyncSession, w: Window, limit: int) -> list[dict[str, Any]]:
    """The most asked queries (case and spacing folded)."""
    sql = """
        SELECT lower(regexp_replace(btrim(q.query), '\\s+', ' ', 'g')) AS query,
               count(*) AS count, max(q.created_at) AS last_asked
        FROM query_history q WHERE q.organization_id = :org
          AND q.created_at >= :since AND q.created_at < :until
        GROUP BY 1 ORDER BY count DESC, last_asked DESC LIMIT :limit
    """
    return await _rows(session, sql, w.params(limit=limit))


async def no_results(session: AsyncSession, w: Window, limit: int) -> list[dict[str, Any]]:
    """Queries that found nothing (not blocked ones): the gaps in the organisation's content."""
    sql = """
        SELECT q.id, q.created_at, q.kind, q.query, q.user_id
        FROM query_history q
        WHERE q.organization_id = :org
          AND q.created_at >= :since AND q.created_at < :until AND NOT q.blocked
          AND coalesce((q.metrics ->> 'results')::int, (q.metrics ->> 'retrieved')::int) = 0
        ORDER BY q.created_at DESC LIMIT :limit
    """
    return await _rows(session, sql, w.params(limit=limit))


async def lowest_rated(session: AsyncSession, w: Window, limit: int) -> list[dict[str, Any]]:
    """Rated answers, worst first."""
    sql = """
        SELECT q.id, q.created_at, q.query, q.answer, q.rating, q.feedback_comment, q.user_id
        FROM query_history q WHERE q.organization_id = :org
          AND q.created_at >= :since AND q.created_at < :until AND q.rating IS NOT NULL
        ORDER BY q.rating, q.created_at DESC LIMIT :limit
    """
    return await _rows(session, sql, w.params(limit=limit))


async def cited_documents(session: AsyncSession, w: Window, limit: int) -> list[dict[str, Any]]:
    """Documents by how many answers cited them."""
    sql = """
        SELECT d.id AS document_id, d.title, count(*) AS citations,
               count(DISTINCT q.id) AS answers
        FROM query_history q, jsonb_array_elements(q.citations) AS c
        JOIN documents d ON d.id::text = c ->> 'document_id'
        WHERE q.organization_id = :org
          AND q.created_at >= :since AND q.created_at < :until AND d.organization_id = :org
        GROUP BY d.id, d.title ORDER BY citations DESC, d.title LIMIT :limit
    """
    return await _rows(session, sql, w.params(limit=limit))


async def uncited_documents(session: AsyncSession, w: Window, limit: int) -> list[dict[str, Any]]:
    """Ready documents no answer cited in the window (stale, or never found)."""
    sql = """
        SELECT d.id AS document_id, d.title, d.created_at
        FROM documents d
        WHERE d.organization_id = :org AND d.status = 'ready'
          AND NOT EXISTS (
              SELECT 1 FROM query_history q, jsonb_array_elements(q.citations) AS c
              WHERE q.organization_id = :org
                AND q.created_at >= :since AND q.created_at < :until
                AND c ->> 'document_id' = d.id::text)
        ORDER BY d.created_at, d.title LIMIT :limit
    """
    return await _rows(session, sql, w.params(limit=limit))


async def guardrail_hits(session: AsyncSession, w: Window) -> list[dict[str, Any]]:
    """How often each rule fired, and how many of those queries it blocked."""
    sql = """
        SELECT r ->> 'rule_id' AS rule_id, max(r ->> 'name') AS name, count(*) AS hits,
               count(*) FILTER (WHERE r ->> 'action' = 'block') AS blocked
        FROM query_history q, jsonb_array_elements(q.metrics -> 'rules') AS r
        WHERE q.organization_id = :org
          AND q.created_at >= :since AND q.created_at < :until
          AND jsonb_typeof(q.metrics -> 'rules') = 'array'
        GROUP BY 1 ORDER BY hits DESC, name
    """
    return await _rows(session, sql, w.params())
