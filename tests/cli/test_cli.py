"""The ``ragaas`` command line: admin commands on the test database, data commands over HTTP
against a real ``ragaas serve`` process, and the demo seed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from click.testing import Result
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from ragaas import migrate
from ragaas.auth.dependencies import authenticate
from ragaas.auth.passwords import verify_password
from ragaas.cli.main import app
from ragaas.cli.serve import public_url, should_seed
from ragaas.db import libpq_url, make_engine, make_sessionmaker
from ragaas.demo import DEMO_EMAIL, DEMO_ORG, demo_files, seed_demo
from ragaas.jobs.queue import make_job_app
from ragaas.models import DataSource, Document, Organization, User
from ragaas.providers.blobstore.local import LocalBlobStore
from ragaas.runtime import Runtime
from ragaas.settings import Settings
from ragaas.sources import config as source_config
from ragaas.sources import crypto
from tests.conftest import Tenant, free_port, running_serve, server_env

Invoke = Callable[..., Awaitable[Result]]
PASSWORD = "correct horse battery"


@pytest.fixture
def cli(settings: Settings, tmp_path: Path) -> Invoke:
    """Run ``ragaas ARGS`` in a worker thread (each command runs its own event loop)."""
    env = {
        "RAGAAS_DATABASE_URL": settings.database_url,
        "RAGAAS_DATA_DIR": str(tmp_path / "data"),
        "RAGAAS_SEED_DEMO": "false",
        "RAGAAS_LOG_JSON": "false",
        "RAGAAS_URL": None,
        "RAGAAS_API_KEY": None,
        # rich wraps table cells to fit the terminal; wide enough for a long tmp_path (xdist)
        "COLUMNS": "240",
    }

    async def invoke(*args: str) -> Result:
        return await asyncio.to_thread(CliRunner().invoke, app, list(args), env=env)

    return invoke


async def bootstrap(cli: Invoke) -> dict[str, str]:
    org = f"cli-{uuid.uuid4().hex[:10]}"
    result = await cli("admin", "bootstrap", "--org", org, "--email", f"admin@{org}.test",
                       "--password", PASSWORD, "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    created: dict[str, str] = json.loads(result.stdout)
    return {**created, "org": org}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# --- admin and migrate -------------------------------------------------------------------------


async def test_version(cli: Invoke) -> None:
    result = await cli("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == "ragaas 0.1.0"


async def test_bootstrap_json_prints_only_a_working_key(
    cli: Invoke, client: httpx.AsyncClient
) -> None:
    org = f"cli-{uuid.uuid4().hex[:10]}"
    args = ["admin", "bootstrap", "--org", org, "--email", "Boss@Example.test"]
    result = await cli(*args, "--password", PASSWORD, "--json")
    assert result.exit_code == 0, result.output
    created = json.loads(result.stdout)
    assert set(created) == {"organization_id", "user_id", "api_key"}
    me = await client.get("/v1/auth/me", headers=bearer(created["api_key"]))
    assert me.status_code == 200, me.text
    assert me.json()["organization_id"] == created["organization_id"]
    assert me.json()["user_id"] == created["user_id"]
    assert "org:admin" in me.json()["permissions"]

    again = await cli(*args, "--password", PASSWORD, "--json")
    assert again.exit_code == 1
    assert again.stdout == ""
    assert "already exists" in again.stderr


async def test_bootstrap_without_json_is_readable_and_validates_input(cli: Invoke) -> None:
    org = f"cli-{uuid.uuid4().hex[:10]}"
    result = await cli("admin", "bootstrap", "--org", org, "--email", "a@b.test",
                       "--password", PASSWORD)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"Created organisation {org}" in result.stdout
    assert re.search(r"rg_\S+", result.stdout)

    short = await cli("admin", "bootstrap", "--org", org + "x", "--email", "a@b.test",
                      "--password", "short")  # fmt: skip
    assert short.exit_code == 1
    assert "password" in short.stderr


async def test_create_user_by_org_name_or_id(cli: Invoke, client: httpx.AsyncClient) -> None:
    tenant = await bootstrap(cli)
    by_name = await cli("admin", "create-user", "--org", tenant["org"], "--email", "ana@x.test",
                        "--password", PASSWORD, "--role", "analyst", "--json")  # fmt: skip
    assert by_name.exit_code == 0, by_name.output
    assert json.loads(by_name.stdout)["role"] == "analyst"
    login = await client.post("/v1/auth/login", json={"email": "ana@x.test", "password": PASSWORD})
    assert login.status_code == 200, login.text

    by_id = await cli("admin", "create-user", "--org", tenant["organization_id"], "--email",
                      "dev@x.test", "--password", PASSWORD, "--role", "developer")  # fmt: skip
    assert by_id.exit_code == 0, by_id.output
    assert "Created developer dev@x.test" in by_id.stdout

    duplicate = await cli("admin", "create-user", "--org", tenant["org"], "--email", "ANA@x.test",
                          "--password", PASSWORD)  # fmt: skip
    assert duplicate.exit_code == 1
    assert "already exists" in duplicate.stderr
    missing = await cli("admin", "create-user", "--org", "no-such-org", "--email", "z@x.test",
                        "--password", PASSWORD)  # fmt: skip
    assert missing.exit_code == 1
    assert "no organisation 'no-such-org'" in missing.stderr


async def test_create_api_key_with_scopes_and_expiry(
    cli: Invoke, client: httpx.AsyncClient
) -> None:
    tenant = await bootstrap(cli)
    await cli("admin", "create-user", "--org", tenant["org"], "--email", "v@x.test",
              "--password", PASSWORD, "--role", "viewer")  # fmt: skip
    base = ["admin", "create-api-key", "--org", tenant["org"], "--email", "v@x.test"]
    created = await cli(*base, "--name", "ci", "--scopes", "query", "--expires-days", "7", "--json")
    assert created.exit_code == 0, created.output
    body = json.loads(created.stdout)
    assert body["scopes"] == ["query"]
    assert body["expires_at"] is not None
    me = await client.get("/v1/auth/me", headers=bearer(body["api_key"]))
    assert me.status_code == 200, me.text
    assert me.json()["permissions"] == ["query"]

    too_much = await cli(*base, "--name", "w", "--scopes", "data:write")
    assert too_much.exit_code == 1
    assert "cannot grant" in too_much.stderr


async def test_create_api_key_with_unknown_scope_names_it(cli: Invoke) -> None:
    tenant = await bootstrap(cli)
    result = await cli("admin", "create-api-key", "--org", tenant["org"],
                       "--email", f"admin@{tenant['org']}.test", "--name", "k",
                       "--scopes", "query,data:destroy")  # fmt: skip
    assert result.exit_code != 0
    assert "data:destroy" in result.stderr
    assert "known scopes" in result.stderr
    assert "data:read" in result.stderr


async def test_migrate_is_idempotent(cli: Invoke, database_url: str) -> None:
    head = ScriptDirectory.from_config(migrate.alembic_config(database_url)).get_current_head()
    for _ in range(2):
        result = await cli("migrate")
        assert result.exit_code == 0, result.output
        assert f"revision {head} (head)" in result.stdout
    assert migrate.is_current(database_url)


# --- ingest, search and ask over HTTP ----------------------------------------------------------


@pytest.fixture(scope="module")
def server(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``ragaas serve`` process (API + in-process worker) on the test database."""
    env = {
        **os.environ,
        **server_env(settings),
        "RAGAAS_SEED_DEMO": "true",  # must still not seed: the database is a configured one
    }
    with running_serve(env, tmp_path_factory.mktemp("server")) as (url, log):
        assert "Ragaas demo" not in log.read_text()
        yield url


def _write_corpus(folder: Path) -> None:
    (folder / "nested").mkdir(parents=True)
    (folder / "refunds.md").write_text(
        "# Refund policy\n\nCustomers may return a gadget within 45 days for a full refund. "
        "Refunds reach the original card within five business days.\n"
    )
    (folder / "nested" / "parking.md").write_text(
        "# Parking\n\nStaff park their cars in garage P3 on level minus two.\n"
    )
    (folder / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(64)))
    (folder / ".hidden.md").write_text("# Secret\n\nnot to be uploaded\n")


async def test_ingest_search_and_ask_over_http(cli: Invoke, server: str, tmp_path: Path) -> None:
    key = (await bootstrap(cli))["api_key"]
    corpus = tmp_path / "corpus"
    _write_corpus(corpus)
    auth = ["--url", server, "--api-key", key]

    ingested = await cli("ingest", str(corpus), *auth, "--labels", "handbook")
    assert ingested.exit_code == 0, ingested.output
    assert "photo.png (unsupported file type)" in ingested.stderr
    assert re.search(r"ready\s*│\s*2\s", ingested.stdout), ingested.stdout
    assert re.search(r"skipped\s*│\s*1\s", ingested.stdout), ingested.stdout
    assert ".hidden" not in ingested.output

    found = await cli("search", "how many days to return a gadget", *auth, "--top-k", "2")
    assert found.exit_code == 0, found.output
    assert "Refund policy" in found.stdout
    as_json = await cli("search", "where do staff park", *auth, "--json", "--labels", "handbook")
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout)["results"][0]["title"] == "Parking"

    answer = await cli("ask", "Where do staff park their cars?", *auth)
    assert answer.exit_code == 0, answer.output
    assert "P3" in answer.stdout
    assert "[1] Parking" in answer.stdout


async def test_ingesting_an_unchanged_file_again_is_a_duplicate(
    cli: Invoke, server: str, tmp_path: Path
) -> None:
    key = (await bootstrap(cli))["api_key"]
    path = tmp_path / "faq.md"
    path.write_text("# FAQ\n\nThe office opens at eight.\n")
    auth = ["--url", server, "--api-key", key]
    first = await cli("ingest", str(path), *auth)
    assert first.exit_code == 0, first.output
    again = await cli("ingest", str(path), *auth)
    assert again.exit_code == 0, again.output
    assert re.search(r"duplicate \(unchanged\)\s*│\s*1\s", again.stdout), again.stdout


async def test_ingest_reports_failed_documents_with_exit_code_1(
    cli: Invoke, server: str, tmp_path: Path
) -> None:
    key = (await bootstrap(cli))["api_key"]
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\n1 0 obj <<")
    result = await cli("ingest", str(broken), "--url", server, "--api-key", key)
    assert result.exit_code == 1, result.output
    assert re.search(r"failed\s*│\s*1\s", result.stdout), result.stdout
    assert "broken.pdf" in result.stdout
    assert "PDF" in result.stdout


async def test_server_errors_are_one_clear_line(cli: Invoke, server: str) -> None:
    bad_key = await cli("search", "anything", "--url", server, "--api-key", "rg_nope_nope")
    assert bad_key.exit_code == 1
    assert bad_key.stderr.strip().count("\n") == 0
    assert "401" in bad_key.stderr
    assert "invalid API key" in bad_key.stderr

    no_key = await cli("ask", "anything", "--url", server)
    assert no_key.exit_code == 1
    assert "RAGAAS_API_KEY" in no_key.stderr


async def test_unreachable_server_says_so(cli: Invoke) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = await cli("search", "anything", "--url", url, "--api-key", "rg_x_y")
    assert result.exit_code == 1
    assert f"cannot connect to {url}: is `ragaas serve` running there?" in result.stderr


async def test_ingest_with_nothing_supported_fails(cli: Invoke, tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"png")
    result = await cli("ingest", str(tmp_path), "--api-key", "rg_x_y")
    assert result.exit_code == 1
    assert "no files to ingest" in result.stderr


# --- data sources ------------------------------------------------------------------------------


async def test_sources_add_sync_runs_and_list(cli: Invoke, server: str, settings: Settings) -> None:
    key = (await bootstrap(cli))["api_key"]
    auth = ["--url", server, "--api-key", key]
    folder = settings.source_folder_roots[0] / uuid.uuid4().hex
    folder.mkdir()
    (folder / "a.md").write_text("# Kettles\n\nDescale the kettle every month.")
    (folder / "b.txt").write_text("The canteen serves soup on Fridays.")

    config = json.dumps({"path": str(folder)})
    added = await cli(
        "sources", "add", "Wiki", "--type", "file", "--config", config, *auth, "--json"
    )
    assert added.exit_code == 0, added.output
    source_id = json.loads(added.stdout)["id"]

    synced = await cli("sources", "sync", source_id, *auth)
    assert synced.exit_code == 0, synced.output
    assert (
        "succeeded: 2 seen, 2 added, 0 updated, 0 unchanged, 0 deleted, 0 failed" in synced.stdout
    )

    (folder / "b.txt").unlink()
    again = await cli("sources", "sync", source_id, *auth, "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["counts"] == {
        "seen": 1, "added": 0, "updated": 0, "unchanged": 1, "deleted": 1, "failed": 0,
    }  # fmt: skip

    history = await cli("sources", "runs", source_id, *auth)
    assert history.exit_code == 0, history.output
    assert history.stdout.count("succeeded") == 2
    listed = await cli("sources", "list", *auth)
    assert "Wiki" in listed.stdout
    assert re.search(r"Wiki\s*│\s*file\s*│\s*1\s", listed.stdout), listed.stdout

    bad = await cli("sources", "add", "X", "--type", "file", "--config", '{"path": "/etc"}', *auth)
    assert bad.exit_code == 1
    assert "422" in bad.stderr
    assert "outside the allowed roots" in bad.stderr


async def test_rotate_key_reseals_secrets_and_they_still_open(
    fresh_database_url: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "rotating"
    settings = Settings(database_url=fresh_database_url, data_dir=data_dir, seed_demo=False)
    keyring = crypto.keyring_from(settings)  # k1, generated into data_dir
    url = "postgresql+psycopg://u:pw@elsewhere:5432/db"
    config = {"url": url, "query": "SELECT 1", "id_column": "id", "content_columns": ["x"]}
    org = Organization(id=uuid.uuid4(), name="rotation")
    source = DataSource(
        id=uuid.uuid4(),
        organization_id=org.id,
        name="rot",
        type="database",
        config=source_config.seal(source_config.validate("database", config), keyring, org.id),
        labels=[],
    )
    async with _session(fresh_database_url) as session:
        session.add(org)
        await session.flush()
        session.add(source)
        await session.commit()

    env = {"RAGAAS_DATABASE_URL": fresh_database_url, "RAGAAS_DATA_DIR": str(data_dir)}
    result = await asyncio.to_thread(
        CliRunner().invoke, app, ["admin", "rotate-key", "--generate"], env=env
    )
    assert result.exit_code == 0, result.output
    assert "added key k2" in result.stdout
    assert "re-sealed 1 secrets with key k2" in result.stdout
    assert "safe to remove: k1" in result.stdout

    rotated = crypto.keyring_from(settings)
    assert rotated.current == "k2"
    async with _session(fresh_database_url) as session:
        stored = await session.scalar(
            sa.select(DataSource.config).where(DataSource.id == source.id)
        )
    assert stored is not None
    assert rotated.key_id_of(stored["url"]) == "k2"
    only_new = crypto.Keyring({"k2": rotated.keys["k2"]}, "k2")
    opened = source_config.open_("database", stored, only_new, org.id)
    assert opened.url.get_secret_value() == url  # type: ignore[attr-defined]

    # A keyring that cannot open a stored secret changes nothing and says which source.
    stranger = {"RAGAAS_DATABASE_URL": fresh_database_url, "RAGAAS_DATA_DIR": str(tmp_path / "x")}
    refused = await asyncio.to_thread(
        CliRunner().invoke, app, ["admin", "rotate-key"], env=stranger
    )
    assert refused.exit_code == 1
    assert f"data source {source.id}" in refused.stderr


@contextlib.asynccontextmanager
async def _session(database_url: str) -> AsyncIterator[AsyncSession]:
    engine = make_engine(database_url, pool_size=1)
    try:
        async with make_sessionmaker(engine)() as session:
            yield session
    finally:
        await engine.dispose()


# --- serve helpers and the demo seed -----------------------------------------------------------


def test_demo_seeds_only_the_embedded_default(tmp_path: Path) -> None:
    assert should_seed(Settings(database_url=None, data_dir=tmp_path, seed_demo=True))
    assert not should_seed(Settings(database_url=None, data_dir=tmp_path, seed_demo=False))
    configured = Settings(database_url="postgresql://db/prod", data_dir=tmp_path, seed_demo=True)
    assert not should_seed(configured)
    assert public_url("0.0.0.0", 8000) == "http://127.0.0.1:8000"  # noqa: S104


async def test_seed_demo_does_nothing_once_an_organisation_exists(
    runtime: Runtime, tenant: Tenant
) -> None:
    assert await seed_demo(runtime) is None


@pytest.fixture
def fresh_database_url(database_url: str) -> Iterator[str]:
    """An empty, migrated database of its own (the shared one already has organisations)."""
    admin_url = make_url(database_url)
    name = f"ragaas_demo_{secrets.token_hex(4)}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    try:
        migrate.upgrade(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


async def test_seed_demo_on_a_fresh_database(
    fresh_database_url: str, runtime: Runtime, tmp_path: Path
) -> None:
    engine = make_engine(fresh_database_url, pool_size=1)
    settings = runtime.settings.model_copy(update={"data_dir": tmp_path})
    # Built by hand: build_runtime() would replace this process's current runtime.
    fresh = Runtime(
        settings=settings,
        url=fresh_database_url,
        engine=engine,
        sessionmaker=make_sessionmaker(engine),
        embedder=runtime.embedder,
        chat_model=None,
        blobs=LocalBlobStore(settings.blob_dir()),
        jobs=make_job_app(libpq_url(fresh_database_url)),
    )
    try:
        credentials = await seed_demo(fresh)
        assert credentials is not None
        assert await seed_demo(fresh) is None
        await _check_seeded(fresh, credentials.organization_id, credentials.password)
        async with fresh.sessionmaker() as session:
            principal = await authenticate(session, "unused", credentials.api_key)
        assert principal.organization_id == credentials.organization_id
        assert credentials.email == DEMO_EMAIL
    finally:
        await engine.dispose()


async def _check_seeded(rt: Runtime, organization_id: uuid.UUID, password: str) -> None:
    async with rt.sessionmaker() as session:
        org = await session.get(Organization, organization_id)
        assert org is not None
        assert org.name == DEMO_ORG
        user = await session.scalar(sa.select(User).where(User.organization_id == org.id))
        assert user is not None
        assert user.role == "admin"
        assert verify_password(user.password_hash, password)
        docs = (await session.scalars(sa.select(Document))).all()
        assert {d.filename for d in docs} == {f.name for f in demo_files()}
        assert all(d.organization_id == org.id and d.status == "queued" for d in docs)
        for doc in docs:
            assert (await rt.blobs.get(doc.blob_key)).startswith(b"# Acme Robotics")
        jobs = await session.scalar(
            sa.text("SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'documents.ingest'")
        )
        assert jobs == len(docs)
    assert 3 <= len(docs) <= 5
