"""Row-level security: the API's sessions declare their organisation to PostgreSQL.

Every tenant-owned table has a policy (migration 0011) that shows and accepts only rows of the
organisation set in the transaction's ``ragaas.organization_id``. API requests run on *tenant
sessions*: a connection as the restricted role ``ragaas_api`` (which the policies bind), and, from
the moment the caller is authenticated, the organisation set at the start of every transaction.
So a statement that forgets the organisation filter in code still sees one organisation's rows,
and an unauthenticated statement sees none.

The owner role (migrations, background jobs, authentication lookups that must find a key or a
user before the organisation is known) uses the ordinary sessions and is exempt.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, SessionTransaction

from ragaas.db import make_engine
from ragaas.settings import Settings

log = logging.getLogger(__name__)

ROLE = "ragaas_api"
SETTING = "ragaas.organization_id"
_INFO_KEY = "ragaas_organization_id"
_DECLARE = text(f"SELECT set_config('{SETTING}', :org, true)")


class TenantSession(Session):
    """A session that declares its organisation (``session.info``) at each transaction start."""


@event.listens_for(TenantSession, "after_begin")
def _declare(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
    organization_id = session.info.get(_INFO_KEY)
    if organization_id is not None:
        connection.execute(_DECLARE, {"org": str(organization_id)})


async def scope_session(
    session: AsyncSession, organization_id: uuid.UUID, *, declared: bool = False
) -> None:
    """Bind a tenant session to an organisation, now and for its later transactions.

    ``declared``: the current transaction, if any, already declared it (the authentication
    lookups of migration 0012 do), so no statement is needed now.
    """
    session.info[_INFO_KEY] = organization_id
    if session.in_transaction() and not declared:
        await session.execute(_DECLARE, {"org": str(organization_id)})


def embedded_api_url(owner_url: str) -> str:
    """The embedded server's URL for the restricted role (trusted local socket, no password)."""
    return make_url(owner_url).set(username=ROLE, password=None).render_as_string(False)


def tenant_engine(settings: Settings, owner_url: str) -> AsyncEngine:
    """An engine whose connections run as the restricted role.

    ``RAGAAS_API_DATABASE_URL`` logs in as it directly (the strongest form: the connection cannot
    become anyone else). Without it, the embedded server is reached as ``ragaas_api`` over its
    trusted local socket; a configured server falls back to ``SET ROLE`` on each new connection
    from the owner, which the policies bind just the same.
    """
    if settings.api_database_url:
        return make_engine(settings.api_database_url)
    if settings.database_url is None:
        return make_engine(embedded_api_url(owner_url))
    log.warning(
        "RAGAAS_API_DATABASE_URL is not set: API sessions switch to role %s with SET ROLE "
        "(row-level security applies; a separate login role is stronger: docs/security.md)",
        ROLE,
    )
    engine = make_engine(owner_url)

    @event.listens_for(engine.sync_engine, "connect")
    def _become_restricted(dbapi_connection: Any, record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"SET ROLE {ROLE}")
        cursor.close()
        dbapi_connection.commit()

    return engine


def tenant_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=TenantSession)
