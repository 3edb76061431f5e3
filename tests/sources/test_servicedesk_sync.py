"""A `servicedesk` source against real PostgreSQL and MariaDB: one document per ticket, synced
incrementally (changed tickets, tickets with new comments, new and deleted tickets only).

The scratch tables use their own names (hd_ticket, hd_note, headline, changed_on...) so the tests
prove the mapping is what is read, not a default.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy import text

from ragaas.runtime import Runtime
from ragaas.sources import config as source_config
from tests.conftest import Tenant
from tests.sources.helpers import chunk_ids, counts, create_source, source_documents, sync_and_wait

# The machine's own servers: PostgreSQL 15 with trust auth, MariaDB as root without a password.
SERVERS = {
    "postgres": ("postgresql+psycopg://postgres@127.0.0.1:5432/{db}", "postgres"),
    "mysql": ("mysql+pymysql://root:@127.0.0.1:3306/{db}", "test"),
}
TICKETS = [  # id, subject, description, status, priority, category, resolution
    (1, "Printer on floor 3 jams", "It jams on every duplex job.", "open", "high", "hw", None),
    (2, "VPN drops every hour", "The client disconnects at :00.", "pending", "normal", "net", None),
    (3, "Shared mailbox fails", "Access denied.", "resolved", "low", "mail", "Granted access."),
    (4, "Laptop battery swelling", "The case bulges.", "resolved", "high", "hw", "New battery."),
]
NOTES = [  # inserted out of time order on purpose; note 3 is internal
    (2, 1, "It jams in the duplex unit.", "Bob", datetime(2025, 3, 1, 11, 0), False),
    (1, 1, "Is it the tray or the fuser?", "Alice", datetime(2025, 3, 1, 9, 30), False),
    (3, 1, "Customer is on a legacy contract.", "Carol", datetime(2025, 3, 1, 10, 0), True),
    (4, 2, "Which client version?", "Dave", datetime(2025, 4, 1, 9, 15), False),
    (5, 3, "Please check the permissions.", "Erin", datetime(2025, 5, 1, 9, 0), False),
    (6, 4, "Do not charge it any more.", "Frank", datetime(2025, 6, 1, 9, 0), None),
]


def _day(ticket: int, day: int, hour: int) -> datetime:
    return datetime(2025, ticket + 2, day, hour, 0)


@dataclass
class Desk:
    db_type: str
    url: str
    engine: sa.Engine
    schema: str  # tables are schema-qualified in the mapping, to prove schema.table works


@pytest.fixture(params=sorted(SERVERS))
def desk(request: pytest.FixtureRequest) -> Iterator[Desk]:
    """A scratch database on a real server with a ticket table and a note table."""
    db_type = request.param
    url_template, admin_db = SERVERS[db_type]
    name = f"ragaas_sd_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url_template.format(db=admin_db), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(text(f"CREATE DATABASE {name}"))
    except sa.exc.OperationalError as exc:
        pytest.fail(f"{db_type} is not reachable on this machine: {exc}")
    url = url_template.format(db=name)
    engine = sa.create_engine(url)
    schema = "desk" if db_type == "postgres" else name
    stamp = "timestamp" if db_type == "postgres" else "datetime"
    with engine.begin() as c:
        if db_type == "postgres":
            c.execute(text("CREATE SCHEMA desk"))
        c.execute(
            text(
                f"CREATE TABLE {schema}.hd_ticket (ticket_no integer PRIMARY KEY, "
                "headline varchar(200), problem text, state varchar(30), urgency varchar(30), "
                f"area varchar(50), fix_notes text, opened_on {stamp}, changed_on {stamp})"
            )
        )
        c.execute(
            text(
                f"CREATE TABLE {schema}.hd_note (note_id integer PRIMARY KEY, ticket_ref integer, "
                f"note_text text, written_by varchar(100), written_on {stamp}, is_private boolean)"
            )
        )
        c.execute(
            text(f"INSERT INTO {schema}.hd_ticket VALUES (:a, :b, :c, :d, :e, :f, :g, :h, :i)"),
            [  # ticket n was opened on the 1st of month n + 2 and last changed the next day
                dict(zip("abcdefghi", (*row, _day(row[0], 1, 9), _day(row[0], 2, 10)), strict=True))
                for row in TICKETS
            ],
        )
        c.execute(
            text(f"INSERT INTO {schema}.hd_note VALUES (:a, :b, :c, :d, :e, :f)"),
            [dict(zip("abcdef", row, strict=True)) for row in NOTES],
        )
    yield Desk(db_type, url, engine, schema)
    engine.dispose()
    with admin.connect() as c:
        c.execute(text(f"DROP DATABASE {name}"))
    admin.dispose()


def _config(db_type: str, url: str, schema: str, **mappings: Any) -> dict[str, Any]:
    return {
        "db_type": db_type,
        "connection": url,
        "table_mappings": {
            "tickets": {
                "table": f"{schema}.hd_ticket",
                "id": "ticket_no",
                "subject": "headline",
                "description": "problem",
                "status": "state",
                "priority": "urgency",
                "category": "area",
                "resolution": "fix_notes",
                "created": "opened_on",
                "updated": "changed_on",
            },
            "comments": {
                "table": f"{schema}.hd_note",
                "ticket_id": "ticket_ref",
                "body": "note_text",
                "author": "written_by",
                "created": "written_on",
                "internal": "is_private",
            },
            **mappings,
        },
    }


def _desk_config(desk: Desk, **mappings: Any) -> dict[str, Any]:
    return _config(desk.db_type, desk.url, desk.schema, **mappings)


def _now(zone: str = "UTC") -> datetime:
    """Wall-clock time in ``zone`` as the ticket database stores it (no zone, whole seconds)."""
    return datetime.now(ZoneInfo(zone)).replace(tzinfo=None, microsecond=0)


async def _texts(client: httpx.AsyncClient, tenant: Tenant, docs: dict[str, Any]) -> dict[str, str]:
    texts = {}
    for external_id, doc in docs.items():
        chunks = await client.get(f"/v1/documents/{doc['id']}/chunks", headers=tenant.headers)
        texts[external_id] = "\n\n".join(c["content"] for c in chunks.json())
    return texts


def _in_order(haystack: str, *needles: str) -> bool:
    positions = [haystack.find(n) for n in needles]
    return all(p >= 0 for p in positions) and positions == sorted(positions)


async def _docs(client: httpx.AsyncClient, tenant: Tenant, source_id: str) -> dict[str, Any]:
    return {d["external_id"]: d for d in await source_documents(client, tenant, source_id)}


async def test_servicedesk_source_syncs_only_what_changed(
    client: httpx.AsyncClient, tenant: Tenant, desk: Desk
) -> None:
    source = await create_source(
        client, tenant, name="Helpdesk", type="servicedesk", config=_desk_config(desk)
    )

    first = await sync_and_wait(client, tenant, source["id"])
    assert first["status"] == "succeeded", first
    assert counts(first) == {"added": 4}
    docs = await _docs(client, tenant, source["id"])
    assert set(docs) == {"1", "2", "3", "4"}
    assert docs["1"]["title"] == "#1 Printer on floor 3 jams"
    assert docs["1"]["url"] == "servicedesk://tickets/1"
    assert docs["1"]["metadata"] == {
        "status": "open",
        "priority": "high",
        "category": "hw",
        "created": "2025-03-01T09:00:00",
        "updated": "2025-03-02T10:00:00",
    }
    texts = await _texts(client, tenant, docs)
    assert _in_order(
        texts["1"],
        "Subject: Printer on floor 3 jams",
        "It jams on every duplex job.",
        "Alice, 2025-03-01 09:30: Is it the tray or the fuser?",
        "Bob, 2025-03-01 11:00: It jams in the duplex unit.",
    ), texts["1"]
    assert "legacy contract" not in texts["1"]  # internal notes are left out by default
    assert "Resolution" not in texts["1"]
    assert _in_order(
        texts["3"],
        "Erin, 2025-05-01 09:00: Please check",
        "Resolution: Granted access.",
    ), texts["3"]
    kept = await chunk_ids(client, tenant, docs["4"]["id"])

    # Ticket 1 is resolved; ticket 2 gets a comment (its row untouched); 5 is new; 3 is deleted.
    with desk.engine.begin() as c:
        c.execute(
            text(
                f"UPDATE {desk.schema}.hd_ticket SET state = 'resolved', "
                "fix_notes = 'Replaced the duplex roller.', changed_on = :now WHERE ticket_no = 1"
            ),
            {"now": _now()},
        )
        c.execute(
            text(f"INSERT INTO {desk.schema}.hd_note VALUES (7, 2, :body, 'Grace', :now, false)"),
            {"body": "Version 5.2; the drop matches the DHCP lease renewal.", "now": _now()},
        )
        c.execute(
            text(
                f"INSERT INTO {desk.schema}.hd_ticket VALUES (5, 'Monitor flickers', "
                "'The left monitor flickers at 60 Hz.', 'open', 'low', 'hardware', NULL, "
                ":now, :now)"
            ),
            {"now": _now()},
        )
        c.execute(text(f"DELETE FROM {desk.schema}.hd_note WHERE ticket_ref = 3"))
        c.execute(text(f"DELETE FROM {desk.schema}.hd_ticket WHERE ticket_no = 3"))

    # Ticket 4 changed neither row nor comments since the first sync: it is not even read.
    second = await sync_and_wait(client, tenant, source["id"])
    assert second["status"] == "succeeded", second
    assert counts(second) == {"updated": 2, "added": 1, "deleted": 1}
    assert second["counts"]["seen"] == 3
    docs = await _docs(client, tenant, source["id"])
    assert set(docs) == {"1", "2", "4", "5"}
    assert await chunk_ids(client, tenant, docs["4"]["id"]) == kept
    assert docs["1"]["metadata"]["status"] == "resolved"
    texts = await _texts(client, tenant, docs)
    assert texts["1"].endswith("Resolution: Replaced the duplex roller."), texts["1"]
    assert _in_order(texts["2"], "Dave, 2025-04-01 09:15", "Grace, ", "DHCP lease renewal")

    # A status-only change touches metadata, not the text: no re-embedding. Tickets 1, 2 and 5
    # changed within the safety margin before the second sync started, so they are read again
    # (and found unchanged): the margin costs a hash comparison, never a missed change.
    with desk.engine.begin() as c:
        c.execute(
            text(
                f"UPDATE {desk.schema}.hd_ticket SET state = 'closed', changed_on = :now "
                "WHERE ticket_no = 4"
            ),
            {"now": _now()},
        )
    third = await sync_and_wait(client, tenant, source["id"])
    assert counts(third) == {"unchanged": 4}
    docs = await _docs(client, tenant, source["id"])
    assert docs["4"]["metadata"]["status"] == "closed"
    assert await chunk_ids(client, tenant, docs["4"]["id"]) == kept

    found = await client.post(
        "/v1/search", json={"query": "duplex roller", "mode": "lexical"}, headers=tenant.headers
    )
    assert found.json()["results"][0]["external_id"] == "1"

    # A changed mapping re-reads every ticket, however old its last change (here all are moved
    # out of the safety margin); the secret sent back masked is kept.
    with desk.engine.begin() as c:
        c.execute(
            text(f"UPDATE {desk.schema}.hd_ticket SET changed_on = :past"),
            {"past": datetime(2025, 9, 1)},
        )
    config = _desk_config(desk)
    config["connection"] = source_config.MASK
    config["table_mappings"]["comments"]["include_internal"] = True
    patched = await client.patch(
        f"/v1/data-sources/{source['id']}", json={"config": config}, headers=tenant.headers
    )
    assert patched.status_code == 200, patched.text
    fourth = await sync_and_wait(client, tenant, source["id"])
    assert counts(fourth) == {"updated": 1, "unchanged": 3}
    texts = await _texts(client, tenant, await _docs(client, tenant, source["id"]))
    assert "Carol, 2025-03-01 10:00: Customer is on a legacy contract." in texts["1"]


async def test_timestamps_are_read_in_the_configured_time_zone(
    client: httpx.AsyncClient, tenant: Tenant, desk: Desk
) -> None:
    """A desk storing New York wall-clock time (hours behind UTC) loses no change."""
    config = _desk_config(desk, timezone="America/New_York")
    del config["table_mappings"]["comments"]  # comments are optional
    source = await create_source(client, tenant, name="NY desk", type="servicedesk", config=config)
    first = await sync_and_wait(client, tenant, source["id"])
    assert counts(first) == {"added": 4}
    texts = await _texts(client, tenant, await _docs(client, tenant, source["id"]))
    assert "Alice" not in texts["1"]

    with desk.engine.begin() as c:
        c.execute(
            text(
                f"UPDATE {desk.schema}.hd_ticket SET problem = 'Jams on simplex jobs too.', "
                "changed_on = :now WHERE ticket_no = 1"
            ),
            {"now": _now("America/New_York")},
        )
    second = await sync_and_wait(client, tenant, source["id"])
    assert counts(second) == {"updated": 1}


async def test_a_mapped_column_missing_in_the_table_fails_the_run_clearly(
    client: httpx.AsyncClient, tenant: Tenant, desk: Desk
) -> None:
    config = _desk_config(desk)
    config["table_mappings"]["tickets"]["subject"] = "headline_typo"
    source = await create_source(client, tenant, name="Typo", type="servicedesk", config=config)
    run = await sync_and_wait(client, tenant, source["id"])
    assert run["status"] == "failed"
    error = run["errors"][-1]["error"]
    assert error.startswith("service desk database error: "), error
    assert "headline_typo" in error
    assert "\n" not in error


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port  # closed again: connecting to it is refused


@pytest.mark.parametrize("db_type", sorted(SERVERS))
async def test_an_unreachable_desk_fails_the_run_without_leaking_the_password(
    client: httpx.AsyncClient, tenant: Tenant, db_type: str
) -> None:
    password = "pw-never-shown-42"
    scheme = {"postgres": "postgresql+psycopg", "mysql": "mysql+pymysql"}[db_type]
    url = f"{scheme}://agent:{password}@127.0.0.1:{_closed_port()}/desk"
    config = _config(db_type, url, "desk")
    source = await create_source(client, tenant, name="Down", type="servicedesk", config=config)
    assert source["config"]["connection"] == source_config.MASK
    shown = await client.get(f"/v1/data-sources/{source['id']}", headers=tenant.headers)
    assert password not in shown.text
    assert shown.json()["config"]["table_mappings"]["tickets"]["id"] == "ticket_no"

    run = await sync_and_wait(client, tenant, source["id"])
    assert run["status"] == "failed"
    error = run["errors"][-1]["error"]
    assert error.startswith("service desk database error: "), error
    assert "refused" in error.lower(), error
    assert password not in str(run)


def _valid() -> dict[str, Any]:
    return _config("mysql", "mysql+pymysql://agent:pw@desk.example:3306/desk", "desk")


@pytest.mark.parametrize(
    ("where", "value", "field"),
    [
        (("tickets", "table"), "tickets; DROP TABLE x", "table_mappings.tickets.table"),
        (("tickets", "id"), "id) OR (1=1", "table_mappings.tickets.id"),
        (("comments", "body"), 'body" --', "table_mappings.comments.body"),
        (("tickets", "table"), "a.b.c", "table_mappings.tickets.table"),
    ],
)
async def test_identifiers_that_could_inject_sql_are_refused(
    client: httpx.AsyncClient,
    tenant: Tenant,
    where: tuple[str, str],
    value: str,
    field: str,
) -> None:
    config = _valid()
    config["table_mappings"][where[0]][where[1]] = value
    body = {"name": "Evil", "type": "servicedesk", "config": config}
    response = await client.post("/v1/data-sources", json=body, headers=tenant.headers)
    assert response.status_code == 422, response.text
    assert f"{field}: Value error" in response.json()["detail"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"db_type": "postgres"}, "connection: Value error, for db_type postgres the URL must"),
        ({"db_type": "mssql"}, "db_type: Input should be 'postgres', 'mysql' or 'oracle'"),
        ({"connection": "not a url"}, "connection: Value error, not a SQLAlchemy URL"),
        ({"connection": "mysql+pymysql://a:pw@h:port/d"}, "connection: Value error, not a SQL"),
        ({"extra": 1}, "extra: Extra inputs are not permitted"),
    ],
)
async def test_config_errors_name_the_field(
    client: httpx.AsyncClient, tenant: Tenant, change: dict[str, Any], message: str
) -> None:
    body = {"name": "Bad", "type": "servicedesk", "config": {**_valid(), **change}}
    response = await client.post("/v1/data-sources", json=body, headers=tenant.headers)
    assert response.status_code == 422, response.text
    assert message in response.json()["detail"]


async def test_unknown_time_zone_and_own_database_are_refused(
    client: httpx.AsyncClient, tenant: Tenant, runtime: Runtime
) -> None:
    config = _valid()
    config["table_mappings"]["timezone"] = "Mars/Olympus"
    body = {"name": "Bad", "type": "servicedesk", "config": config}
    response = await client.post("/v1/data-sources", json=body, headers=tenant.headers)
    assert response.status_code == 422
    assert "table_mappings.timezone: Value error, unknown time zone" in response.json()["detail"]

    config = {**_valid(), "db_type": "postgres", "connection": runtime.url}
    body = {"name": "Sneaky", "type": "servicedesk", "config": config}
    response = await client.post("/v1/data-sources", json=body, headers=tenant.headers)
    assert response.status_code == 422
    assert "own database" in response.json()["detail"]
