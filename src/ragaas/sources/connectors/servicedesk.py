"""``servicedesk`` sources: tickets of a service-desk database, one document per ticket.

A ticket's document is its subject, description, comments in time order and resolution, so a
question finds the whole case, not a fragment of it. The connector is *incremental*: after the
first sync it reads only the tickets whose ``updated`` column moved, or that got a comment, since
the previous successful sync (less a safety margin for clock skew), and it finds deleted tickets
by comparing the table's ids with the documents Ragaas holds. A changed mapping or database makes
the next sync read everything again (the sync cursor is a fingerprint of both).

The user maps their own tables and columns; every name is checked to be a plain identifier and
the SQL is built with SQLAlchemy Core, so nothing from the config is ever spliced into SQL text.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, ValidationInfo
from pydantic import field_validator as validates
from sqlalchemy import ColumnElement, DateTime, Select, create_engine, or_, select, text
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import NullPool
from sqlalchemy.sql.expression import TableClause

from ragaas.security import sqlguard
from ragaas.security.egress import EgressPolicy, EgressRefused
from ragaas.sources.connectors.base import (
    BuildContext,
    ConnectorError,
    ConnectorType,
    Deleted,
    Event,
    SourceItem,
    SyncState,
)
from ragaas.sources.connectors.sqlkit import first_line, jsonable, same_database

PAGE = 200  # tickets per query; their comments come in one query per page
SAFETY_MARGIN = timedelta(minutes=5)  # clock skew between the ticket database and Ragaas
DRIVERS = {"postgres": "postgresql+psycopg", "mysql": "mysql+pymysql", "oracle": "oracle+oracledb"}
_TRUE = {"1", "t", "true", "y", "yes"}

_NAME = r"[A-Za-z_][A-Za-z0-9_]{0,127}"


def _identifier(value: str) -> str:
    if not re.fullmatch(_NAME, value):
        raise ValueError("must be a plain column name (letters, digits, underscore)")
    return value


def _table_name(value: str) -> str:
    if not re.fullmatch(rf"{_NAME}(\.{_NAME})?", value):
        raise ValueError("must be a table name, optionally schema.table (letters, digits, _)")
    return value


Column = Annotated[str, AfterValidator(_identifier)]
TableName = Annotated[str, AfterValidator(_table_name)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt optional column is an error, not a no-op


class TicketColumns(_Strict):
    table: TableName
    id: Column = Field(description="Stable unique id of a ticket.")
    subject: Column
    description: Column
    status: Column
    priority: Column
    category: Column
    resolution: Column | None = None
    created: Column | None = None
    updated: Column = Field(description="Last change of the ticket: drives incremental syncs.")


class CommentColumns(_Strict):
    table: TableName
    ticket_id: Column = Field(description="The ticket a comment belongs to.")
    body: Column
    author: Column | None = None
    created: Column
    internal: Column | None = Field(
        default=None, description="True for internal (agent-only) notes."
    )
    include_internal: bool = Field(
        default=False, description="Index internal notes too (only meaningful with `internal`)."
    )


class TableMappings(_Strict):
    tickets: TicketColumns
    comments: CommentColumns | None = None
    timezone: str = Field(
        default="UTC", description="IANA zone of the timestamps the database stores without one."
    )

    @validates("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        _zone(value)
        return value


class ServiceDeskConfig(_Strict):
    db_type: Literal["postgres", "mysql", "oracle"] = Field(description="mysql covers MariaDB.")
    connection: SecretStr = Field(
        description="SQLAlchemy URL: postgresql+psycopg://, mysql+pymysql://, oracle+oracledb://"
    )
    table_mappings: TableMappings

    @validates("connection")
    @classmethod
    def _driver_matches(cls, value: SecretStr, info: ValidationInfo) -> SecretStr:
        db_type = info.data.get("db_type")
        if db_type is None:  # db_type itself is invalid; that error is reported
            return value
        try:
            url = make_url(value.get_secret_value())
        except (ArgumentError, ValueError):  # a bad port is a ValueError; say nothing of the URL
            raise ValueError("not a SQLAlchemy URL (driver://user:password@host/db)") from None
        if url.drivername != DRIVERS[db_type]:
            raise ValueError(f"for db_type {db_type} the URL must start with {DRIVERS[db_type]}://")
        return value


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r} (an IANA name such as Europe/Paris)"
        ) from None


def _table(name: str, roles: dict[str, str], times: Iterable[str]) -> TableClause:
    """A table of the mapped columns; time columns typed so the cutoff binds as a timestamp."""
    schema, _, bare = name.rpartition(".")
    typed = {roles[role] for role in times if role in roles}
    unique = dict.fromkeys(roles.values())  # one column may serve two roles (created = updated)
    columns = (sql_column(n, DateTime) if n in typed else sql_column(n) for n in unique)
    return sql_table(bare, *columns, schema=schema or None)


class _Queries:
    """The SQL this connector runs, built once from the mapping (no user text in SQL strings)."""

    def __init__(self, mappings: TableMappings) -> None:
        t = mappings.tickets
        ticket_roles = {
            "id": t.id,
            "subject": t.subject,
            "description": t.description,
            "status": t.status,
            "priority": t.priority,
            "category": t.category,
            "resolution": t.resolution,
            "created": t.created,
            "updated": t.updated,
        }
        self.ticket_roles = {role: name for role, name in ticket_roles.items() if name}
        self.tickets = _table(t.table, self.ticket_roles, ("created", "updated"))
        self.ticket_id = self.tickets.c[t.id]
        self.updated = self.tickets.c[t.updated]
        self.comments: TableClause | None = None
        self.comment_roles: dict[str, str] = {}
        c = mappings.comments
        if c is not None:
            roles = {
                "ticket_id": c.ticket_id,
                "body": c.body,
                "author": c.author,
                "created": c.created,
                "internal": c.internal,
            }
            self.comment_roles = {role: name for role, name in roles.items() if name}
            self.comments = _table(c.table, self.comment_roles, ("created",))

    def ticket_page(self, cutoff: datetime | None, after: Any) -> Select[Any]:
        """The next PAGE tickets after id ``after`` (keyset paging: no OFFSET re-scans)."""
        cols = [self.tickets.c[name].label(role) for role, name in self.ticket_roles.items()]
        query = select(*cols).where(self.ticket_id.is_not(None)).order_by(self.ticket_id)
        query = query.limit(PAGE)
        if after is not None:
            query = query.where(self.ticket_id > after)
        if cutoff is not None:
            query = query.where(self._changed_since(cutoff))
        return query

    def _changed_since(self, cutoff: datetime) -> ColumnElement[bool]:
        changed: ColumnElement[bool] = self.updated > cutoff
        if self.comments is not None:
            c = self.comments.c
            commented = select(c[self.comment_roles["ticket_id"]]).where(
                c[self.comment_roles["created"]] > cutoff
            )
            changed = or_(changed, self.ticket_id.in_(commented))
        return changed

    def comments_of(self, ticket_ids: Sequence[Any]) -> Select[Any] | None:
        if self.comments is None:
            return None
        c = self.comments.c
        cols = [c[name].label(role) for role, name in self.comment_roles.items()]
        return select(*cols).where(c[self.comment_roles["ticket_id"]].in_(ticket_ids))

    def all_ids(self) -> Select[Any]:
        return select(self.ticket_id)


class ServiceDeskConnector:
    incremental = True

    def __init__(
        self,
        config: ServiceDeskConfig,
        forbidden_urls: Sequence[str] = (),
        egress: EgressPolicy | None = None,
        timeout_seconds: float = 300.0,
    ) -> None:
        self.config = config
        self.url: URL = make_url(config.connection.get_secret_value())  # checked by the model
        for other in forbidden_urls:
            if same_database(self.url.render_as_string(hide_password=False), other):
                raise ValueError("connection points at Ragaas's own database")
        # Security (docs/security.md): host checked before connecting; read-only + time limit.
        self.egress = egress or EgressPolicy()
        self.timeout_seconds = timeout_seconds
        sqlguard.check_static(self.url, self.egress, "connection")
        self.queries = _Queries(config.table_mappings)
        self.zone = _zone(config.table_mappings.timezone)
        comments = config.table_mappings.comments
        self.hide_internal = bool(comments and comments.internal and not comments.include_internal)

    def fingerprint(self) -> str:
        """What the documents were read from: the database (not the password) and the mapping."""
        where = self.url.set(password=None).render_as_string()
        mapping = self.config.table_mappings.model_dump_json()
        return "v1:" + hashlib.sha256(f"{where}\n{mapping}".encode()).hexdigest()[:32]

    async def items(self, state: SyncState) -> AsyncIterator[Event]:
        fingerprint = self.fingerprint()
        unchanged_setup = state.cursor == fingerprint
        cutoff = _cutoff(state.since, self.zone) if state.since and unchanged_setup else None
        state.next_cursor = fingerprint
        try:
            await sqlguard.check_host(self.url, self.egress)
        except EgressRefused as exc:
            raise ConnectorError(f"connection: {exc}") from None
        engine = self._engine()
        connection: Connection | None = None
        try:
            connection = await asyncio.to_thread(engine.connect)
            await asyncio.to_thread(sqlguard.begin_read_only, connection, self.timeout_seconds)
            await asyncio.to_thread(self._set_session_zone, connection, cutoff)
            yielded: set[str] = set()
            after: Any = None
            while page := await asyncio.to_thread(self._page, connection, cutoff, after):
                after = page[-1][0]
                for _, item in page:
                    yielded.add(item.external_id)
                    yield item
            gone = await asyncio.to_thread(
                self._gone, connection, state.known_ids | frozenset(yielded)
            )
            for external_id in sorted(gone):
                yield Deleted(external_id)
        except SQLAlchemyError as exc:
            why = sqlguard.timed_out(exc, self.timeout_seconds) or first_line(exc)
            raise ConnectorError(f"service desk database error: {why}") from exc
        finally:
            if connection is not None:
                await asyncio.to_thread(connection.close)
            engine.dispose()

    def _engine(self) -> Engine:
        try:
            return create_engine(self.url, poolclass=NullPool)
        except ImportError as exc:
            raise ConnectorError(
                f"the {self.url.drivername} driver is not installed ({exc.name} missing)"
            ) from exc

    def _set_session_zone(self, connection: Connection, cutoff: datetime | None) -> None:
        """Make columns *with* a time zone compare in the configured zone, like the naive ones."""
        backend = self.url.get_backend_name()
        if backend == "postgresql":
            connection.execute(
                text("SELECT set_config('TimeZone', :z, false)"), {"z": self.zone.key}
            )
        elif backend == "mysql":  # named zones need the server's tz tables; an offset always works
            at = cutoff.replace(tzinfo=self.zone) if cutoff else datetime.now(self.zone)
            offset = at.utcoffset()
            connection.execute(text("SET time_zone = :z"), {"z": _offset(offset or timedelta())})

    def _page(
        self, connection: Connection, cutoff: datetime | None, after: Any
    ) -> list[tuple[Any, SourceItem]]:
        """The next page of tickets (raw id, document), their comments fetched in one query."""
        query = self.queries.ticket_page(cutoff, after)
        tickets = [dict(row._mapping) for row in connection.execute(query)]
        if not tickets:
            return []
        comments: dict[str, list[dict[str, Any]]] = defaultdict(list)
        of_page = self.queries.comments_of([t["id"] for t in tickets])
        if of_page is not None:
            for row in connection.execute(of_page):
                comment = dict(row._mapping)
                if not (self.hide_internal and _is_true(comment.get("internal"))):
                    comments[str(comment["ticket_id"])].append(comment)
        return [(t["id"], _item(t, comments[str(t["id"])])) for t in tickets]

    def _gone(self, connection: Connection, known: frozenset[str]) -> set[str]:
        """Known ids the table no longer has (one streamed ``SELECT id``)."""
        missing = set(known)
        result = connection.execution_options(stream_results=True).execute(self.queries.all_ids())
        for partition in result.partitions(5000):
            missing.difference_update(str(row[0]) for row in partition)
        return missing


def _item(ticket: dict[str, Any], comments: list[dict[str, Any]]) -> SourceItem:
    external_id = str(ticket["id"])
    subject = _text(ticket.get("subject"))
    parts = [f"Subject: {subject}", _text(ticket.get("description"))]
    for comment in sorted(comments, key=_comment_order):
        parts.append(_comment(comment))
    resolution = _text(ticket.get("resolution"))
    if resolution:
        parts.append(f"Resolution: {resolution}")
    metadata: dict[str, Any] = {
        role: jsonable(ticket[role])
        for role in ("status", "priority", "category", "created", "updated")
        if role in ticket
    }
    updated = ticket["updated"]
    return SourceItem(
        external_id=external_id,
        title=f"#{external_id} {subject}".strip(),
        content="\n\n".join(p for p in parts if p).encode(),
        content_type="text/plain",
        url=f"servicedesk://tickets/{external_id}",
        metadata=metadata,
        modified_at=updated if isinstance(updated, datetime) else None,
    )


def _comment(comment: dict[str, Any]) -> str:
    who = [_text(comment.get("author")), _when(comment.get("created"))]
    return f"{', '.join(w for w in who if w)}: {_text(comment.get('body'))}"


def _comment_order(comment: dict[str, Any]) -> tuple[bool, str, str, str]:
    """Time order; ties broken by content, so the text (and its hash) is stable across syncs."""
    created = comment.get("created")
    stamp = created.isoformat() if isinstance(created, date) else str(created or "")
    return created is None, stamp, _text(comment.get("author")), _text(comment.get("body"))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace").strip()
    return str(value).strip()


def _when(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return _text(value)


def _is_true(value: Any) -> bool:
    """An internal flag as databases spell it: boolean, 0/1, 'Y'/'N', 'true'/'false'."""
    if isinstance(value, bytes | bytearray):  # MySQL BIT(1)
        return any(value)
    return _text(value).lower() in _TRUE if isinstance(value, str) else bool(value)


def _cutoff(since: datetime, zone: ZoneInfo) -> datetime:
    """The previous sync's start less the margin, as a wall-clock time in the database's zone."""
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return (since - SAFETY_MARGIN).astimezone(zone).replace(tzinfo=None)


def _offset(delta: timedelta) -> str:
    minutes = int(delta.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _build(config: ServiceDeskConfig, ctx: BuildContext) -> ServiceDeskConnector:
    return ServiceDeskConnector(
        config, [ctx.own_database_url], ctx.egress, ctx.query_timeout_seconds
    )


CONNECTOR_TYPE = ConnectorType(
    "servicedesk", ServiceDeskConfig, _build, "tickets of a service-desk database with comments"
)
