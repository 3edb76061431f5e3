"""Small helpers shared by the SQL connectors (database, servicedesk)."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError


def jsonable(value: Any) -> Any:
    """A JSON-serialisable form of a column value (dates as ISO text, decimals as floats)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    try:
        json.dumps(value)
    except TypeError:
        return str(value)
    return value


_DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "mariadb": 3306, "oracle": 1521}
_LOCAL = {"localhost", "127.0.0.1", "::1", ""}


def same_database(a: str, b: str) -> bool:
    """Whether two URLs reach the same database (loopback names and default ports folded)."""

    def place(url: str) -> tuple[str, str, int, str | None]:
        u = make_url(url)
        backend = u.get_backend_name()
        host = str(u.query.get("host") or u.host or "")
        host = "local" if host in _LOCAL else host
        return backend, host, u.port or _DEFAULT_PORTS.get(backend, 0), u.database

    return place(a) == place(b)


def first_line(exc: SQLAlchemyError) -> str:
    """The driver's message, first line only (no SQL, no parameters)."""
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
