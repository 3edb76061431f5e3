"""SSRF guard (security/egress.py) on every outbound path, and read-only SQL sources.

The suite's settings allow-list loopback (tests/conftest.py) so the connectors' own tests can use
local servers; here each path is built with a policy *without* that allow-list, against real
local servers, and must refuse with a clear reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ragaas.errors import Unprocessable
from ragaas.mcp.fetch import fetch
from ragaas.notifications.delivery import DeliveryError, post_webhook
from ragaas.security.egress import EgressPolicy, EgressRefused
from ragaas.sources.connectors.api import ApiConfig, ApiConnector
from ragaas.sources.connectors.base import ConnectorError, SyncState
from ragaas.sources.connectors.database import DatabaseConfig, DatabaseConnector
from ragaas.sources.connectors.s3 import S3Config, S3Connector
from tests.conftest import Tenant, serve_in_thread

DENY = EgressPolicy()  # no allow-list: what a deployment has by default
LOOPBACK_ONLY = EgressPolicy.from_list(["127.0.0.1"])
REFUSED_URLS = ["http://127.0.0.1:9/x", "http://10.0.0.1/x", "http://169.254.169.254/latest/"]


async def _records(_: Request) -> Response:
    return JSONResponse([{"id": 1, "text": "hello"}])


async def _to_metadata(_: Request) -> Response:
    return RedirectResponse("http://169.254.169.254/latest/meta-data/", status_code=302)


async def _hook(_: Request) -> Response:
    return Response(status_code=204)


@pytest.fixture(scope="module")
def local_server() -> Iterator[str]:
    app = Starlette(
        routes=[
            Route("/records", _records),
            Route("/redirect", _to_metadata),
            Route("/hook", _hook, methods=["POST"]),
        ]
    )
    with serve_in_thread(app) as url:
        yield url


async def _drain(connector: Any) -> list[Any]:
    return [event async for event in connector.items(SyncState())]


# --- the policy ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "10.0.0.1", "169.254.169.254", "::1", "fe80::1", "::ffff:127.0.0.1", "0.0.0.0"],  # noqa: S104,
)
async def test_non_public_addresses_are_refused_unless_allow_listed(host: str) -> None:
    with pytest.raises(EgressRefused, match="refused outbound request"):
        await DENY.resolve(host, 80)
    with pytest.raises(ValueError, match="RAGAAS_EGRESS_ALLOW"):
        DENY.check_static(f"http://[{host}]/" if ":" in host else f"http://{host}/")
    allowed = EgressPolicy.from_list([host if ":" not in host else f"{host}/128"])
    assert await allowed.resolve(host, 80)


async def test_a_hostname_resolving_to_loopback_is_refused_and_a_cidr_allows() -> None:
    with pytest.raises(EgressRefused, match=r"localhost \(127\.0\.0\.1\): loopback"):
        await DENY.resolve("localhost", 80)
    assert await EgressPolicy.from_list(["127.0.0.0/8", "::1"]).resolve("localhost", 80)
    assert await EgressPolicy.from_list(["LOCALHOST"]).resolve("localhost", 80)
    assert await DENY.resolve("93.184.215.14", 443)  # a public address passes


# --- each outbound path -------------------------------------------------------------------------


@pytest.mark.parametrize("url", REFUSED_URLS[1:])  # the suite's settings allow 127.0.0.1
async def test_api_source_with_a_refused_url_is_a_422_on_create(
    client: httpx.AsyncClient, tenant: Tenant, url: str
) -> None:
    body = {
        "name": "x",
        "type": "api",
        "config": {"url": url, "id_path": "id", "content_paths": ["text"]},
    }
    response = await client.post("/v1/data-sources", json=body, headers=tenant.headers)
    assert response.status_code == 422, response.text
    assert "refused outbound request" in response.json()["detail"]


async def test_api_connector_refuses_loopback_by_ip_and_by_name(local_server: str) -> None:
    port = httpx.URL(local_server).port
    for base in (local_server, f"http://localhost:{port}"):
        config = ApiConfig(url=f"{base}/records", id_path="id", content_paths=["text"])
        with pytest.raises(ConnectorError, match=r"refused outbound request.*loopback"):
            await _drain(ApiConnector(config, DENY))
    config = ApiConfig(url=f"{local_server}/records", id_path="id", content_paths=["text"])
    assert len(await _drain(ApiConnector(config, LOOPBACK_ONLY))) == 1  # the control


async def test_webhook_to_loopback_fails_for_good_with_the_reason(local_server: str) -> None:
    payload = {"kind": "test", "id": "1", "data": {}}
    with pytest.raises(DeliveryError, match="loopback") as refused:
        await post_webhook(f"{local_server}/hook", "s" * 32, payload, uuid.uuid4(), 5.0, DENY)
    assert refused.value.permanent
    status = await post_webhook(
        f"{local_server}/hook", "s" * 32, payload, uuid.uuid4(), 5.0, LOOPBACK_ONLY
    )
    assert status == 204


async def test_webhook_alert_to_metadata_address_is_a_422(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = {
        "name": "x",
        "kind": "sync_failed",
        "webhook": {"url": "http://169.254.169.254/hook", "secret": "s" * 32},
    }
    response = await client.post("/v1/alerts", json=body, headers=tenant.headers)
    assert response.status_code == 422, response.text
    assert "link-local" in response.json()["detail"]


async def test_ingest_url_refuses_loopback_and_a_redirect_to_a_refused_target(
    local_server: str,
) -> None:
    with pytest.raises(Unprocessable, match="loopback"):
        await fetch(f"{local_server}/records", 10_000, DENY)
    with pytest.raises(Unprocessable, match=r"169\.254\.169\.254: link-local"):
        await fetch(f"{local_server}/redirect", 10_000, LOOPBACK_ONLY)


async def test_pinned_transport_checks_every_redirect_hop(local_server: str) -> None:
    async with httpx.AsyncClient(
        transport=LOOPBACK_ONLY.transport(), follow_redirects=True
    ) as http:
        assert (await http.get(f"{local_server}/records")).status_code == 200
        with pytest.raises(EgressRefused, match="link-local"):
            await http.get(f"{local_server}/redirect")


async def test_s3_endpoint_resolving_to_loopback_fails_the_run() -> None:
    config = S3Config(bucket="bucket", endpoint_url="http://localhost:9")
    with pytest.raises(ConnectorError, match=r"endpoint_url: refused outbound.*loopback"):
        await _drain(S3Connector(config, DENY))


async def test_database_host_is_checked_statically_and_before_connecting() -> None:
    def config(url: str) -> DatabaseConfig:
        return DatabaseConfig(
            url=SecretStr(url), query="SELECT 1 AS id, 'x' AS c", id_column="id",
            content_columns=["c"],
        )  # fmt: skip

    with pytest.raises(ValueError, match=r"refused outbound request to 10\.0\.0\.1"):
        DatabaseConnector(config("postgresql+psycopg://u@10.0.0.1/db"), egress=DENY)
    connector = DatabaseConnector(config("postgresql+psycopg://postgres@localhost/x"), egress=DENY)
    with pytest.raises(ConnectorError, match=r"url: refused outbound.*loopback"):
        await _drain(connector)


# --- read-only SQL with time limits -------------------------------------------------------------

SERVERS = {
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432/{db}",
    "mariadb": "mysql+pymysql://root:@127.0.0.1:3306/{db}",
}


@pytest.fixture(params=sorted(SERVERS))
def scratch_db(request: pytest.FixtureRequest) -> Iterator[tuple[str, str, sa.Engine]]:
    kind = request.param
    name = f"ragaas_ro_{uuid.uuid4().hex[:8]}"
    admin_db = "postgres" if kind == "postgresql" else "test"
    admin = sa.create_engine(SERVERS[kind].format(db=admin_db), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"CREATE DATABASE {name}"))
    url = SERVERS[kind].format(db=name)
    engine = sa.create_engine(url)
    with engine.begin() as c:
        c.execute(text("CREATE TABLE t (id integer PRIMARY KEY, body text)"))
        c.execute(text("INSERT INTO t VALUES (1, 'one'), (2, 'two')"))
        if kind == "postgresql":
            c.execute(
                text("CREATE FUNCTION wipe() RETURNS int LANGUAGE sql AS 'DELETE FROM t; SELECT 1'")
            )
        else:
            c.execute(
                text(
                    "CREATE FUNCTION wipe() RETURNS INT MODIFIES SQL DATA "
                    "BEGIN DELETE FROM t; RETURN 1; END"
                )
            )
    yield kind, url, engine
    engine.dispose()
    with admin.connect() as c:
        c.execute(text(f"DROP DATABASE {name}"))
    admin.dispose()


def _connector(url: str, query: str, timeout: float = 300.0) -> DatabaseConnector:
    config = DatabaseConfig(
        url=SecretStr(url), query=query, id_column="id", content_columns=["body"]
    )
    return DatabaseConnector(config, egress=LOOPBACK_ONLY, timeout_seconds=timeout)


async def test_a_writing_query_fails_and_changes_nothing(
    scratch_db: tuple[str, str, sa.Engine],
) -> None:
    kind, url, engine = scratch_db
    if kind == "postgresql":  # a writing CTE fails too (any error will do: nothing written)
        cte = "WITH gone AS (DELETE FROM t RETURNING *) SELECT id, body FROM gone"
        with pytest.raises(ConnectorError):
            await _drain(_connector(url, cte))
    with pytest.raises(ConnectorError, match=r"(?i)read.only"):
        await _drain(_connector(url, "SELECT id, body, wipe() AS w FROM t"))
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM t")).scalar_one() == 2
    assert len(await _drain(_connector(url, "SELECT id, body FROM t"))) == 2  # reads still work


async def test_a_slow_query_is_stopped_with_a_clear_error(
    scratch_db: tuple[str, str, sa.Engine],
) -> None:
    kind, url, _ = scratch_db
    sleep = "pg_sleep(5)" if kind == "postgresql" else "SLEEP(5)"
    query = f"SELECT id, body, {sleep} AS s FROM t"
    with pytest.raises(ConnectorError, match=r"ran longer than 1 s.*SOURCE_QUERY_TIMEOUT"):
        await _drain(_connector(url, query, timeout=1.0))
