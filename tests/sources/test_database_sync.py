"""A `database` source against real PostgreSQL and MariaDB servers: rows become documents."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy import text

from ragaas.runtime import Runtime
from tests.conftest import Tenant
from tests.sources.helpers import chunk_ids, counts, create_source, source_documents, sync_and_wait

# The machine's own servers (see the env notes): PostgreSQL 15 with trust auth, MariaDB as root.
SERVERS = {
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432/{db}",
    "mariadb": "mysql+pymysql://root:@127.0.0.1:3306/{db}",
}
ROWS = [
    {"id": 1, "q": "How do I reset my password?", "a": "Use the forgot link.", "t": "account"},
    {"id": 2, "q": "Where is the invoice?", "a": "Under Billing, Invoices.", "t": "billing"},
    {"id": 3, "q": "Can I export data?", "a": "Yes, as CSV from Settings.", "t": "data"},
]
for _row in ROWS:
    _row["u"] = datetime(2026, 1, int(_row["id"]), 9, 30)


@pytest.fixture(params=sorted(SERVERS))
def faq_db(request: pytest.FixtureRequest) -> Iterator[tuple[str, sa.Engine]]:
    """A scratch database on a real server with an `faq` table of three rows."""
    kind = request.param
    name = f"ragaas_src_{uuid.uuid4().hex[:8]}"
    admin_db = "postgres" if kind == "postgresql" else "test"
    admin = sa.create_engine(SERVERS[kind].format(db=admin_db), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(text(f"CREATE DATABASE {name}"))
    except sa.exc.OperationalError as exc:
        pytest.fail(f"{kind} is not reachable on this machine: {exc}")
    url = SERVERS[kind].format(db=name)
    engine = sa.create_engine(url)
    with engine.begin() as c:
        c.execute(
            text(
                "CREATE TABLE faq (id integer PRIMARY KEY, question varchar(200), "
                "answer text, topic varchar(50), updated_at timestamp)"
            )
        )
        c.execute(text("INSERT INTO faq VALUES (:id, :q, :a, :t, :u)"), ROWS)
    yield url, engine
    engine.dispose()
    with admin.connect() as c:
        c.execute(text(f"DROP DATABASE {name}"))
    admin.dispose()


def _config(url: str) -> dict[str, Any]:
    return {
        "url": url,
        "query": "SELECT id, question, answer, topic, updated_at FROM faq",
        "id_column": "id",
        "title_column": "question",
        "content_columns": ["question", "answer"],
        "metadata_columns": ["topic"],
        "updated_at_column": "updated_at",
        "url_template": "https://help.example/faq/{id}",
    }


async def test_database_source_syncs_incrementally(
    client: httpx.AsyncClient, tenant: Tenant, faq_db: tuple[str, sa.Engine]
) -> None:
    url, engine = faq_db
    source = await create_source(client, tenant, name="FAQ", type="database", config=_config(url))

    first = await sync_and_wait(client, tenant, source["id"])
    assert first["status"] == "succeeded", first
    assert counts(first) == {"added": 3}
    docs = {d["external_id"]: d for d in await source_documents(client, tenant, source["id"])}
    assert docs["2"]["title"] == "Where is the invoice?"
    assert docs["2"]["url"] == "https://help.example/faq/2"
    assert docs["2"]["metadata"]["topic"] == "billing"
    assert docs["2"]["metadata"]["updated_at"].startswith("2026-01-02")
    kept = await chunk_ids(client, tenant, docs["1"]["id"])

    with engine.begin() as c:
        c.execute(
            text("UPDATE faq SET answer = 'Open Billing, then Invoices, then PDF.' WHERE id = 2")
        )
        c.execute(text("DELETE FROM faq WHERE id = 3"))
        c.execute(
            text("INSERT INTO faq VALUES (4, 'Is there an API?', 'Yes, see /docs.', 'dev', NULL)")
        )

    second = await sync_and_wait(client, tenant, source["id"])
    assert counts(second) == {"added": 1, "updated": 1, "unchanged": 1, "deleted": 1}
    docs = {d["external_id"]: d for d in await source_documents(client, tenant, source["id"])}
    assert set(docs) == {"1", "2", "4"}
    assert await chunk_ids(client, tenant, docs["1"]["id"]) == kept

    found = await client.post(
        "/v1/search", json={"query": "invoice PDF", "mode": "lexical"}, headers=tenant.headers
    )
    top = found.json()["results"][0]
    assert top["external_id"] == "2"
    assert "PDF" in top["content"]


async def test_a_query_missing_a_mapped_column_fails_the_run_clearly(
    client: httpx.AsyncClient, tenant: Tenant, faq_db: tuple[str, sa.Engine]
) -> None:
    url, _ = faq_db
    config = {**_config(url), "query": "SELECT id, question FROM faq"}
    source = await create_source(client, tenant, name="Broken", type="database", config=config)
    run = await sync_and_wait(client, tenant, source["id"])
    assert run["status"] == "failed"
    assert "no column answer, topic, updated_at" in run["errors"][-1]["error"]


async def test_ragaas_own_database_is_refused(
    client: httpx.AsyncClient, tenant: Tenant, runtime: Runtime
) -> None:
    config = {**_config(runtime.url), "query": "SELECT * FROM users"}
    body = {"name": "Sneaky", "type": "database", "config": config}
    response = await client.post("/v1/data-sources", json=body, headers=tenant.headers)
    assert response.status_code == 422
    assert "own database" in response.json()["detail"]
