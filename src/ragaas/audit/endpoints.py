"""/v1/audit: the organisation's audit log for admins, filtered, paginated or as CSV."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Select, func, or_, select

from ragaas.audit.service import record
from ragaas.auth.dependencies import OrgAdmin
from ragaas.db import Session
from ragaas.errors import Unprocessable
from ragaas.exports.delivery import ExportTo
from ragaas.kit.pagination import Page, Pagination
from ragaas.models import AuditEvent

router = APIRouter(prefix="/v1/audit", tags=["audit"])
CSV_MAX_ROWS = 100_000
CSV_COLUMNS = (
    "id",
    "occurred_at",
    "actor_kind",
    "actor_user_id",
    "actor_api_key_id",
    "action",
    "object_type",
    "object_id",
    "details",
    "client_ip",
    "user_agent",
)


class AuditEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    occurred_at: datetime
    actor_kind: str
    actor_user_id: uuid.UUID | None
    actor_api_key_id: uuid.UUID | None
    action: str
    object_type: str | None
    object_id: str | None
    details: dict[str, Any]
    client_ip: str | None
    user_agent: str | None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@router.get(
    "",
    operation_id="audit_list",
    response_model=Page[AuditEventOut],
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def list_events(
    request: Request,
    principal: OrgAdmin,
    session: Session,
    page: Pagination,
    export: ExportTo,
    actor: Annotated[uuid.UUID | None, Query(description="A user id or an API key id")] = None,
    action: Annotated[
        str | None, Query(max_length=100, description="Action prefix, e.g. 'source.' or 'auth'")
    ] = None,
    object_type: Annotated[str | None, Query(max_length=50)] = None,
    object_id: Annotated[str | None, Query(max_length=200)] = None,
    since: Annotated[datetime | None, Query(alias="from", description="Inclusive")] = None,
    until: Annotated[datetime | None, Query(alias="to", description="Exclusive")] = None,
    format: Annotated[Literal["json", "csv"], Query(description="json (default) or csv")] = "json",
) -> Any:
    """Audit events of your organisation, newest first (admins only); `format=csv` exports
    every matching event (up to 100,000), as a download or (`destination=bucket`) a file in the
    S3 bucket with a presigned link, and is itself audited."""
    if since is not None and until is not None and since >= until:
        raise Unprocessable("'from' must be before 'to'")
    stmt: Select[AuditEvent] = select(AuditEvent).where(
        AuditEvent.organization_id == principal.organization_id
    )
    if actor is not None:
        stmt = stmt.where(
            or_(AuditEvent.actor_user_id == actor, AuditEvent.actor_api_key_id == actor)
        )
    if action:
        stmt = stmt.where(AuditEvent.action.like(_escape_like(action) + "%", escape="\\"))
    if object_type is not None:
        stmt = stmt.where(AuditEvent.object_type == object_type)
    if object_id is not None:
        stmt = stmt.where(AuditEvent.object_id == object_id)
    if since is not None:
        stmt = stmt.where(AuditEvent.occurred_at >= since)
    if until is not None:
        stmt = stmt.where(AuditEvent.occurred_at < until)
    ordered = stmt.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id)
    if format == "csv":
        rows = list(await session.scalars(ordered.limit(CSV_MAX_ROWS)))
        # Written (or sent) first: an export the bucket refused is not recorded as done.
        response = await export.deliver("audit", principal.organization_id, _csv(rows))
        filters = {
            k: v for k, v in request.query_params.items() if k not in ("format", "limit", "offset")
        }
        record(
            session,
            principal,
            "audit.export",
            None,
            None,
            {"filters": filters, "rows": len(rows)},
            request,
        )
        await session.commit()
        return response
    total = await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = list(await session.scalars(ordered.limit(page.limit).offset(page.offset)))
    items = [AuditEventOut.model_validate(r) for r in rows]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


def _csv(rows: list[AuditEvent]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        plain = AuditEventOut.model_validate(row).model_dump(mode="json")
        writer.writerow(
            [
                _json(plain[c]) if c == "details" else ("" if plain[c] is None else plain[c])
                for c in CSV_COLUMNS
            ]
        )
    return out.getvalue().encode()


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
