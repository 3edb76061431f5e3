"""Connector types by name: each one's config model and how to build it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from ragaas.sources.connectors.base import Connector
from ragaas.sources.connectors.database import DatabaseConfig, DatabaseConnector
from ragaas.sources.connectors.folder import FolderConfig, FolderConnector


@dataclass(frozen=True)
class BuildContext:
    """What a connector may need to know about this deployment."""

    folder_roots: list[Path]
    own_database_url: str


@dataclass(frozen=True)
class ConnectorType:
    config_model: type[BaseModel]
    build: Callable[[BaseModel, BuildContext], Connector]
    description: str


def _folder(config: BaseModel, ctx: BuildContext) -> Connector:
    assert isinstance(config, FolderConfig)
    return FolderConnector(config, ctx.folder_roots)


def _database(config: BaseModel, ctx: BuildContext) -> Connector:
    assert isinstance(config, DatabaseConfig)
    return DatabaseConnector(config, [ctx.own_database_url])


CONNECTOR_TYPES: dict[str, ConnectorType] = {
    "file": ConnectorType(FolderConfig, _folder, "files in a server folder"),
    "database": ConnectorType(DatabaseConfig, _database, "rows of a SQL query"),
}
