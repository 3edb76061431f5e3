"""Writing audit events inside the caller's transaction.

``record`` only adds a row to the session: it is committed with the change it describes, or
rolled back with it, so the log never claims a change that did not happen.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from ragaas.auth.principal import Principal
from ragaas.models import ActorKind, AuditEvent, Organization

# Keys whose values are never stored, whatever the caller passes (defence in depth: callers
# already pass only names, ids and changed field names).
_SECRET_KEY = re.compile(r"pass|secret|token|credential|private|api_?key|authorization", re.I)
REDACTED = "[redacted]"
_MAX_USER_AGENT = 500


@dataclass(frozen=True)
class Actor:
    """Who acted, when that is not an authenticated principal (login, CLI)."""

    kind: str
    organization_id: uuid.UUID | None
    user_id: uuid.UUID | None = None
    api_key_id: uuid.UUID | None = None

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        kind = ActorKind.API_KEY if principal.api_key_id is not None else ActorKind.USER
        return cls(kind, principal.organization_id, principal.user_id, principal.api_key_id)

    @classmethod
    def system(cls, organization_id: uuid.UUID) -> Actor:
        return cls(ActorKind.SYSTEM, organization_id)


def redact(value: Any) -> Any:
    """``value`` with every secret-looking key's value replaced, recursively."""
    if isinstance(value, Mapping):
        return {
            str(k): REDACTED if _SECRET_KEY.search(str(k)) else redact(v) for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [redact(v) for v in items]
    if isinstance(value, uuid.UUID):
        return str(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def record(
    session: AsyncSession,
    actor: Principal | Actor,
    action: str,
    object_type: str | None = None,
    object_id: uuid.UUID | str | None = None,
    details: Mapping[str, Any] | None = None,
    request: Request | None = None,
) -> AuditEvent:
    """Add one audit event to the caller's transaction (not flushed, not committed)."""
    who = Actor.of(actor) if isinstance(actor, Principal) else actor
    client_ip = request.client.host if request is not None and request.client else None
    agent = request.headers.get("user-agent") if request is not None else None
    event = AuditEvent(
        id=uuid.uuid4(),
        organization_id=who.organization_id,
        actor_kind=who.kind,
        actor_user_id=who.user_id,
        actor_api_key_id=who.api_key_id,
        action=action,
        object_type=object_type,
        object_id=str(object_id) if object_id is not None else None,
        details=redact(dict(details or {})),
        client_ip=client_ip,
        user_agent=agent[:_MAX_USER_AGENT] if agent else None,
    )
    session.add(event)
    return event


def changed(body: Any) -> list[str]:
    """The field names a PATCH body set (pydantic ``model_fields_set``), sorted."""
    return sorted(getattr(body, "model_fields_set", ()))


async def record_system_event(
    session: AsyncSession, action: str, details: Mapping[str, Any] | None = None
) -> int:
    """Record a system-wide action (e.g. ``secrets.rotate`` from the CLI) once in every
    organisation, so each organisation's admins see it; returns how many rows were added."""
    organization_ids = list(await session.scalars(select(Organization.id)))
    for organization_id in organization_ids:
        record(session, Actor.system(organization_id), action, details=details)
    return len(organization_ids)
