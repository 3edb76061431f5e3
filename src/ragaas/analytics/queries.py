"""/v1/queries: the organisation's query history, and feedback on an answer."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import Select

from ragaas.analytics.schemas import Feedback, QueryDetail, QueryOut
from ragaas.auth.dependencies import QueryPrincipal, QueryReader
from ragaas.auth.permissions import Permission
from ragaas.db import Session
from ragaas.errors import Forbidden
from ragaas.kit.pagination import Page, Pagination
from ragaas.models import QueryHistory
from ragaas.notifications import events
from ragaas.tenancy.repository import OrgRepository

router = APIRouter(prefix="/v1/queries", tags=["query history"])


class QueryRepository(OrgRepository[QueryHistory]):
    model = QueryHistory
    noun = "query"

    def filtered(
        self,
        user_id: uuid.UUID | None = None,
        config: str | None = None,
        kind: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        rating: int | None = None,
        max_rating: int | None = None,
        blocked: bool | None = None,
    ) -> Select[Any]:
        """History rows matching every given filter, newest first."""
        stmt = self.base()
        if user_id is not None:
            stmt = stmt.where(QueryHistory.user_id == user_id)
        if config is not None:
            stmt = stmt.where(QueryHistory.config_name == config)
        if kind is not None:
            stmt = stmt.where(QueryHistory.kind == kind)
        if since is not None:
            stmt = stmt.where(QueryHistory.created_at >= since)
        if until is not None:
            stmt = stmt.where(QueryHistory.created_at < until)
        if rating is not None:
            stmt = stmt.where(QueryHistory.rating == rating)
        if max_rating is not None:
            stmt = stmt.where(QueryHistory.rating <= max_rating)
        if blocked is not None:
            stmt = stmt.where(QueryHistory.blocked.is_(blocked))
        return stmt.order_by(QueryHistory.created_at.desc(), QueryHistory.id)


@router.get("", operation_id="queries_list")
async def list_queries(
    principal: QueryReader,
    session: Session,
    page: Pagination,
    user_id: uuid.UUID | None = None,
    config: Annotated[str | None, Query(max_length=200)] = None,
    kind: Annotated[str | None, Query(pattern="^(search|chat)$")] = None,
    since: Annotated[datetime | None, Query(alias="from")] = None,
    until: Annotated[datetime | None, Query(alias="to")] = None,
    rating: Annotated[int | None, Query(ge=1, le=5)] = None,
    max_rating: Annotated[int | None, Query(ge=1, le=5)] = None,
    blocked: bool | None = None,
) -> Page[QueryOut]:
    """Queries, newest first: filter by user, config, kind, time (`from` ≤ t < `to`), rating."""
    repo = QueryRepository(session, principal.organization_id)
    stmt = repo.filtered(user_id, config, kind, since, until, rating, max_rating, blocked)
    total = await repo.count(stmt)
    rows = await session.scalars(stmt.limit(page.limit).offset(page.offset))
    items = [QueryOut.model_validate(r) for r in rows]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/{query_id}", operation_id="queries_get")
async def get_query(query_id: uuid.UUID, principal: QueryReader, session: Session) -> QueryDetail:
    """One query with its answer, citations and metrics."""
    row = await QueryRepository(session, principal.organization_id).get(query_id)
    return QueryDetail.model_validate(row)


@router.post("/{query_id}/feedback", operation_id="queries_feedback")
async def feedback(
    query_id: uuid.UUID, body: Feedback, principal: QueryPrincipal, session: Session
) -> QueryOut:
    """Rate an answer 1 to 5 (with an optional comment): the user who asked, or an admin."""
    row = await QueryRepository(session, principal.organization_id).get(query_id)
    if row.user_id != principal.user_id and not principal.can(Permission.ORG_ADMIN):
        raise Forbidden("only the user who asked, or an admin, can rate this answer")
    row.rating, row.feedback_comment = body.rating, body.comment
    await events.emit(session, principal.organization_id, events.LOW_RATING, events.rated(row))
    await session.commit()
    return QueryOut.model_validate(row)
