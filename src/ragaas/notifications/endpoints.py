"""/v1/alerts: alert rules, a test send, and the delivery log."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy import select

from ragaas.audit import changed, record
from ragaas.auth.dependencies import OrgAdmin, QueryReader
from ragaas.auth.permissions import Permission
from ragaas.auth.principal import Principal
from ragaas.db import Session
from ragaas.kit.pagination import Page, Pagination
from ragaas.models import Alert, AlertDelivery
from ragaas.notifications import service
from ragaas.notifications.schemas import AlertCreate, AlertOut, AlertUpdate, DeliveryOut
from ragaas.runtime import Runtime
from ragaas.sources.crypto import keyring_from

router = APIRouter(prefix="/v1/alerts", tags=["alerts"])


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _admin(principal: Principal) -> bool:
    return principal.can(Permission.ORG_ADMIN)


@router.post("", status_code=status.HTTP_201_CREATED, operation_id="alerts_create")
async def create(
    body: AlertCreate, request: Request, principal: OrgAdmin, session: Session
) -> AlertOut:
    """Create an alert rule; its webhook secret is sealed at rest and never shown again."""
    settings = _runtime(request).settings
    alert = await service.create(
        session, principal.organization_id, body, keyring_from(settings), settings
    )
    details = {"name": alert.name, "kind": alert.kind}
    record(session, principal, "alert.create", "alert", alert.id, details, request)
    await session.commit()
    return service.describe(alert, full_urls=True)


@router.get("", operation_id="alerts_list")
async def list_alerts(principal: QueryReader, session: Session) -> list[AlertOut]:
    """The organisation's alert rules, oldest first."""
    repo = service.AlertRepository(session, principal.organization_id)
    rows = await session.scalars(repo.base().order_by(Alert.created_at, Alert.id))
    return [service.describe(a, full_urls=_admin(principal)) for a in rows]


@router.get("/{alert_id}", operation_id="alerts_get")
async def get(alert_id: uuid.UUID, principal: QueryReader, session: Session) -> AlertOut:
    alert = await service.AlertRepository(session, principal.organization_id).get(alert_id)
    return service.describe(alert, full_urls=_admin(principal))


@router.patch("/{alert_id}", operation_id="alerts_update")
async def update(
    alert_id: uuid.UUID,
    body: AlertUpdate,
    request: Request,
    principal: OrgAdmin,
    session: Session,
) -> AlertOut:
    """Change an alert (e.g. `{"active": false}`); send the masked secret back to keep it."""
    settings = _runtime(request).settings
    alert = await service.AlertRepository(session, principal.organization_id).get(alert_id)
    await service.update(session, alert, body, keyring_from(settings), settings)
    details = {"name": alert.name, "changed": changed(body), "active": alert.active}
    record(session, principal, "alert.update", "alert", alert.id, details, request)
    await session.commit()
    return service.describe(alert, full_urls=True)


@router.delete("/{alert_id}", status_code=status.HTTP_204_NO_CONTENT, operation_id="alerts_delete")
async def delete(
    alert_id: uuid.UUID, request: Request, principal: OrgAdmin, session: Session
) -> Response:
    """Delete an alert and its delivery log (pending retries stop)."""
    alert = await service.AlertRepository(session, principal.organization_id).get(alert_id)
    details = {"name": alert.name, "kind": alert.kind}
    record(session, principal, "alert.delete", "alert", alert.id, details, request)
    await session.delete(alert)
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{alert_id}/test", operation_id="alerts_test")
async def test(
    alert_id: uuid.UUID, request: Request, principal: OrgAdmin, session: Session
) -> list[DeliveryOut]:
    """Send a `test` event through each of the alert's channels now (one attempt, no retry)
    and return the deliveries: `sent`, or `failed` with the reason."""
    alert = await service.AlertRepository(session, principal.organization_id).get(alert_id)
    ids = await service.send_test(_runtime(request), session, alert)
    session.expire_all()
    rows = await session.scalars(
        select(AlertDelivery).where(AlertDelivery.id.in_(ids)).order_by(AlertDelivery.channel)
    )
    return [service.describe_delivery(r, full_urls=True) for r in rows]


@router.get("/{alert_id}/deliveries", operation_id="alerts_deliveries")
async def deliveries(
    alert_id: uuid.UUID,
    principal: QueryReader,
    session: Session,
    page: Pagination,
    delivery_status: Annotated[
        str | None, Query(alias="status", pattern="^(pending|sent|failed)$")
    ] = None,
) -> Page[DeliveryOut]:
    """The alert's deliveries, newest first, each with its attempts and last error."""
    await service.AlertRepository(session, principal.organization_id).get(alert_id)
    repo = service.DeliveryRepository(session, principal.organization_id)
    stmt = repo.base().where(AlertDelivery.alert_id == alert_id)
    if delivery_status is not None:
        stmt = stmt.where(AlertDelivery.status == delivery_status)
    total = await repo.count(stmt)
    stmt = stmt.order_by(AlertDelivery.created_at.desc(), AlertDelivery.id)
    rows = await session.scalars(stmt.limit(page.limit).offset(page.offset))
    items = [service.describe_delivery(r, full_urls=_admin(principal)) for r in rows]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)
