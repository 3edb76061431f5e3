"""Per-organisation quotas: what each limit is, what is used, and the checks that refuse.

A limit comes from the organisation's own override (set by an operator with
``ragaas admin set-quota``) or else from the RAGAAS_QUOTA_* default; 0 means unlimited. Checks
count in the database, so they hold across replicas; two submissions racing at the very limit
may both pass (each counts before the other commits), which overshoots by at most their number.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ragaas.errors import AppError, NotFound
from ragaas.models import Document, Organization, QueryHistory
from ragaas.settings import Settings
from ragaas.tenancy.settings_cache import SETTINGS

QUOTA_PROBLEM = "urn:ragaas:problem:quota-exceeded"


class Quota(StrEnum):
    DOCUMENTS = "documents"
    STORAGE_BYTES = "storage_bytes"
    QUERIES_PER_DAY = "queries_per_day"


_COLUMN = {
    Quota.DOCUMENTS: "max_documents",
    Quota.STORAGE_BYTES: "max_storage_bytes",
    Quota.QUERIES_PER_DAY: "max_queries_per_day",
}


def column_of(quota: Quota) -> str:
    """The organizations column holding the quota's override."""
    return _COLUMN[quota]


@dataclass(frozen=True)
class Defaults:
    """The RAGAAS_QUOTA_* defaults (0: unlimited)."""

    documents: int = 0
    storage_bytes: int = 0
    queries_per_day: int = 0

    @classmethod
    def of(cls, settings: Settings) -> Defaults:
        return cls(
            settings.quota_max_documents,
            settings.quota_max_storage_bytes,
            settings.quota_max_queries_per_day,
        )


class QuotaExceeded(AppError):
    status_code = 403
    title = "Quota exceeded"

    def __init__(
        self, quota: Quota, limit: int, usage: int, message: str, retry_after: int | None = None
    ) -> None:
        super().__init__(
            message,
            429 if retry_after is not None else 403,
            type=QUOTA_PROBLEM,
            quota=quota.value,
            limit=limit,
            usage=usage,
        )
        if retry_after is not None:
            self.headers = {"Retry-After": str(retry_after)}


async def limits(
    session: AsyncSession, organization_id: uuid.UUID, defaults: Defaults
) -> dict[Quota, int]:
    """Each quota's effective limit for the organisation (0: unlimited)."""
    org = await session.get(Organization, organization_id)
    if org is None:
        raise NotFound(f"organisation {organization_id} not found")
    result: dict[Quota, int] = {}
    for quota, column in _COLUMN.items():
        override: int | None = getattr(org, column)
        result[quota] = override if override is not None else getattr(defaults, quota.value)
    return result


async def usage(session: AsyncSession, organization_id: uuid.UUID) -> dict[Quota, int]:
    """What the organisation uses of each quota now."""
    count, stored = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(Document.size_bytes), 0)).where(
                Document.organization_id == organization_id
            )
        )
    ).one()
    return {
        Quota.DOCUMENTS: int(count),
        Quota.STORAGE_BYTES: int(stored),
        Quota.QUERIES_PER_DAY: await queries_today(session, organization_id),
    }


def _day_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


async def queries_today(session: AsyncSession, organization_id: uuid.UUID) -> int:
    """Queries the organisation made since 00:00 UTC (rows of its query history)."""
    since = _day_start(datetime.now(UTC))
    stmt = select(func.count()).where(
        QueryHistory.organization_id == organization_id, QueryHistory.created_at >= since
    )
    return int(await session.scalar(stmt) or 0)


async def check_document(
    session: AsyncSession,
    organization_id: uuid.UUID,
    defaults: Defaults,
    *,
    new_document: bool,
    added_bytes: int,
) -> None:
    """Refuse (403) a submission that would pass the document or storage quota."""
    limit = await limits(session, organization_id, defaults)
    if not limit[Quota.DOCUMENTS] and not limit[Quota.STORAGE_BYTES]:
        return
    used = await usage(session, organization_id)
    documents = limit[Quota.DOCUMENTS]
    if new_document and documents and used[Quota.DOCUMENTS] + 1 > documents:
        raise QuotaExceeded(
            Quota.DOCUMENTS,
            documents,
            used[Quota.DOCUMENTS],
            f"the organisation's quota of {documents} documents is used up "
            f"({used[Quota.DOCUMENTS]} stored); delete documents or ask an operator to raise it",
        )
    storage = limit[Quota.STORAGE_BYTES]
    if storage and added_bytes > 0 and used[Quota.STORAGE_BYTES] + added_bytes > storage:
        raise QuotaExceeded(
            Quota.STORAGE_BYTES,
            storage,
            used[Quota.STORAGE_BYTES],
            f"storing {added_bytes} more bytes would pass the organisation's storage quota of "
            f"{storage} bytes ({used[Quota.STORAGE_BYTES]} stored)",
        )


async def check_query(
    session: AsyncSession,
    organization_id: uuid.UUID,
    defaults: Defaults,
    settings_generation: int | None = None,
) -> None:
    """Refuse (429, Retry-After: the next 00:00 UTC) a query past the daily quota.

    With the caller's ``settings_generation`` the limits are read once per generation.
    """
    in_force = await SETTINGS.get(
        organization_id,
        settings_generation,
        ("limits", defaults),
        lambda: limits(session, organization_id, defaults),
    )
    limit = in_force[Quota.QUERIES_PER_DAY]
    if not limit:
        return
    made = await queries_today(session, organization_id)
    if made >= limit:
        now = datetime.now(UTC)
        retry_after = max(1, math.ceil((_day_start(now) + timedelta(days=1) - now).total_seconds()))
        raise QuotaExceeded(
            Quota.QUERIES_PER_DAY,
            limit,
            made,
            f"the organisation's quota of {limit} queries per day is used up; it renews at "
            "00:00 UTC",
            retry_after=retry_after,
        )
