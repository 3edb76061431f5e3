"""``database`` sources: rows of any SQL database SQLAlchemy reaches, one document per row."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, SecretStr
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, CursorResult, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from ragaas.security import sqlguard
from ragaas.security.egress import EgressPolicy, EgressRefused
from ragaas.sources.connectors.base import (
    BuildContext,
    ConnectorError,
    ConnectorType,
    Event,
    ItemError,
    SourceItem,
    SyncState,
)
from ragaas.sources.connectors.sqlkit import first_line, jsonable, same_database

FETCH = 500


class DatabaseConfig(BaseModel):
    url: SecretStr = Field(
        description="SQLAlchemy URL: postgresql+psycopg://, mysql+pymysql://, oracle+oracledb://"
    )
    query: str = Field(min_length=1, description="A SELECT returning one row per document.")
    id_column: str = Field(description="Stable unique id of a row.")
    content_columns: list[str] = Field(min_length=1, description="Joined into the text.")
    title_column: str | None = None
    metadata_columns: list[str] = Field(default_factory=list)
    updated_at_column: str | None = Field(
        default=None, description="Kept as metadata.updated_at (for filters and display)."
    )
    url_template: str | None = Field(
        default=None, description="Reference URL of a row, e.g. 'https://crm/tickets/{id}'."
    )


class DatabaseConnector:
    incremental = False

    def __init__(
        self,
        config: DatabaseConfig,
        forbidden_urls: Sequence[str] = (),
        egress: EgressPolicy | None = None,
        timeout_seconds: float = 300.0,
    ) -> None:
        self.config = config
        # Security (docs/security.md): host checked before connecting; read-only + time limit.
        self.egress = egress or EgressPolicy()
        self.timeout_seconds = timeout_seconds
        try:
            self.url = make_url(config.url.get_secret_value())
        except ArgumentError as exc:
            raise ValueError(f"url is not a database URL: {exc}") from exc
        for other in forbidden_urls:
            if same_database(self.url.render_as_string(hide_password=False), other):
                raise ValueError("url points at Ragaas's own database")
        sqlguard.check_static(self.url, self.egress, "url")

    async def items(self, state: SyncState) -> AsyncIterator[Event]:
        try:
            await sqlguard.check_host(self.url, self.egress)
        except EgressRefused as exc:
            raise ConnectorError(f"url: {exc}") from None
        engine = create_engine(self.url, poolclass=NullPool)
        connection: Connection | None = None
        try:
            connection = await asyncio.to_thread(engine.connect)
            await asyncio.to_thread(sqlguard.begin_read_only, connection, self.timeout_seconds)
            result = await asyncio.to_thread(self._execute, connection)
            try:
                columns = list(result.keys())
                self._check_columns(columns)
                while rows := await asyncio.to_thread(result.fetchmany, FETCH):
                    for row in rows:
                        yield self._item(dict(zip(columns, row, strict=True)))
            finally:
                await asyncio.to_thread(result.close)
        except SQLAlchemyError as exc:
            why = sqlguard.timed_out(exc, self.timeout_seconds) or first_line(exc)
            raise ConnectorError(f"database error: {why}") from exc
        finally:
            if connection is not None:
                await asyncio.to_thread(connection.close)
            engine.dispose()

    def _execute(self, connection: Connection) -> CursorResult[Any]:
        return connection.execution_options(stream_results=True).execute(text(self.config.query))

    def _check_columns(self, columns: list[str]) -> None:
        c = self.config
        wanted = [c.id_column, *c.content_columns, *c.metadata_columns]
        wanted += [x for x in (c.title_column, c.updated_at_column) if x]
        missing = [name for name in wanted if name not in columns]
        if missing:
            raise ConnectorError(
                f"the query returns no column {', '.join(missing)} "
                f"(it returns {', '.join(columns)})"
            )

    def _item(self, row: dict[str, Any]) -> SourceItem | ItemError:
        c = self.config
        row_id = row[c.id_column]
        if row_id is None:
            return ItemError("?", f"a row has no {c.id_column}")
        external_id = str(row_id)
        parts = [str(row[name]).strip() for name in c.content_columns if row[name] is not None]
        metadata = {name: jsonable(row[name]) for name in c.metadata_columns}
        updated = row[c.updated_at_column] if c.updated_at_column else None
        if updated is not None:
            metadata["updated_at"] = jsonable(updated)
        title = str(row[c.title_column]) if c.title_column and row[c.title_column] else None
        return SourceItem(
            external_id=external_id,
            title=title or f"{c.id_column} {external_id}",
            content="\n\n".join(p for p in parts if p).encode(),
            content_type="text/plain",
            url=c.url_template.format(id=external_id) if c.url_template else None,
            metadata=metadata,
            modified_at=updated if isinstance(updated, datetime) else None,
        )


def _build(config: DatabaseConfig, ctx: BuildContext) -> DatabaseConnector:
    return DatabaseConnector(config, [ctx.own_database_url], ctx.egress, ctx.query_timeout_seconds)


CONNECTOR_TYPE = ConnectorType("database", DatabaseConfig, _build, "rows of a SQL query")
