"""Read-only, time-limited transactions for the SQL connectors (database, servicedesk).

A source's query is written by a tenant admin and runs with whatever rights the configured
database user has; the connector only ever needs to read. So the connection's transaction is
made read-only *by the database* (a ``DELETE`` inside a CTE or a function that writes fails) and
every statement gets a server-side time limit, so a slow query cannot hold a worker forever.

- PostgreSQL: ``SET TRANSACTION READ ONLY`` + ``SET LOCAL statement_timeout``;
- MariaDB: session ``max_statement_time`` (seconds) + ``START TRANSACTION READ ONLY``;
- MySQL: session ``max_execution_time`` (ms; SELECTs only) + ``START TRANSACTION READ ONLY``;
- Oracle: ``SET TRANSACTION READ ONLY`` and the driver's ``call_timeout`` (ms).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import SQLAlchemyError

from ragaas.security.egress import EgressPolicy

SETTING = "RAGAAS_SOURCE_QUERY_TIMEOUT_SECONDS"
# SQLSTATE / error numbers of "statement cancelled by the time limit".
_PG_CANCELED = "57014"
_MYSQL_TIMEOUTS = {1969, 3024}  # MariaDB max_statement_time, MySQL max_execution_time


def begin_read_only(connection: Connection, timeout_seconds: float) -> None:
    """Start the connection's transaction read-only, with a per-statement time limit.

    Call it on a fresh connection before any other statement (SQLAlchemy's autobegin makes the
    first statement open the transaction).
    """
    dialect = connection.dialect
    name = dialect.name
    if name == "postgresql":
        connection.execute(text("SET TRANSACTION READ ONLY"))
        connection.execute(text(f"SET LOCAL statement_timeout = {int(timeout_seconds * 1000)}"))
    elif name in ("mysql", "mariadb"):
        if getattr(dialect, "is_mariadb", False):
            connection.execute(text(f"SET SESSION max_statement_time = {float(timeout_seconds)}"))
        else:
            connection.execute(
                text(f"SET SESSION max_execution_time = {int(timeout_seconds * 1000)}")
            )
        connection.execute(text("START TRANSACTION READ ONLY"))
    elif name == "oracle":
        raw = connection.connection.dbapi_connection
        if raw is not None and hasattr(raw, "call_timeout"):
            raw.call_timeout = int(timeout_seconds * 1000)
        connection.execute(text("SET TRANSACTION READ ONLY"))
    else:
        raise ValueError(f"{name} databases are not supported (no read-only transaction known)")


def timed_out(exc: SQLAlchemyError, timeout_seconds: float) -> str | None:
    """A clear message when ``exc`` is the time limit firing, else None."""
    orig = getattr(exc, "orig", None)
    code = getattr(orig, "sqlstate", None)
    args = getattr(orig, "args", ())
    number = args[0] if args and isinstance(args[0], int) else None
    oracle = "DPI-1067" in str(orig) or "ORA-03156" in str(orig)
    if code == _PG_CANCELED or number in _MYSQL_TIMEOUTS or oracle:
        return f"the query ran longer than {timeout_seconds:g} s and was stopped ({SETTING})"
    return None


def database_host(url: URL) -> str:
    """The host a SQL URL connects to; a unix socket (no host, or ``?host=/path``) is the server
    itself, so it counts as ``localhost`` for the egress allow-list."""
    socket_host = url.query.get("host") or url.query.get("unix_socket")
    if isinstance(socket_host, tuple):
        socket_host = socket_host[0] if socket_host else None
    if socket_host:
        return "localhost" if str(socket_host).startswith("/") else str(socket_host)
    return url.host or "localhost"


def check_static(url: URL, egress: EgressPolicy, what: str) -> None:
    """On create/update (a 422): an IP literal or local name that is not allow-listed."""
    egress.check_static(database_host(url), what)


async def check_host(url: URL, egress: EgressPolicy) -> None:
    """Resolve and check the database host just before connecting (raises EgressRefused)."""
    host = database_host(url)
    await egress.check_host(host, url.port or _DEFAULT_PORTS.get(url.get_backend_name(), 0))


_DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "mariadb": 3306, "oracle": 1521}
