"""Shared fixtures: a real PostgreSQL + pgvector, the migrated schema, the app and a real worker.

Each test run gets a fresh database (on the embedded server, or on the server named by
RAGAAS_TEST_DATABASE_URL); tests isolate from each other by working in their own organisation.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from sqlalchemy.engine import make_url

from ragaas import migrate
from ragaas.admin import service as admin_service
from ragaas.app import create_app
from ragaas.embedded import embedded_database_url, to_sqlalchemy_url
from ragaas.providers.llm.local import LocalSmolLM
from ragaas.providers.llm.local_server import create_local_llm_app
from ragaas.runtime import Runtime, build_runtime
from ragaas.settings import Settings
from ragaas.tenancy.scope import ROLE
from tests.log_scan import LEAKS, register_secret

if TYPE_CHECKING:
    from tests.sources.s3_server import S3Server

pytest_plugins = ["tests.llm_double", "tests.log_scan"]

LOCAL_LLM_KEY = "test-key-0123456789"
TENANT_PASSWORD = "correct horse battery"  # every test organisation's admin (never logged)
# Under pytest-xdist (`-n`), each worker runs an embedded server of its own (its own data
# directory, hence its own socket), so no two workers share a cluster's start-up or its roles.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
TEST_PG_DIR = Path(os.environ.get("RAGAAS_TEST_PG_DIR", "/tmp/ragaas-test")) / XDIST_WORKER
if XDIST_WORKER:
    # The controller imported readline, which exports COLUMNS=80 and LINES=24 to the processes it
    # starts: a worker would inherit them, unlike a serial run, and the CLI's rich consoles (made
    # at import) would keep a width of 80 whatever COLUMNS a CLI test then sets.
    for _name in ("COLUMNS", "LINES"):
        os.environ.pop(_name, None)


def _server_url() -> str:
    configured = os.environ.get("RAGAAS_TEST_DATABASE_URL")
    if configured:
        return to_sqlalchemy_url(configured)
    return embedded_database_url(TEST_PG_DIR)


@contextlib.contextmanager
def _one_migration_at_a_time() -> Iterator[None]:
    """xdist workers on one server (RAGAAS_TEST_DATABASE_URL) migrate in turn: the migrations
    create a cluster-wide role, which two first runs at once could both try to create."""
    with (Path(tempfile.gettempdir()) / "ragaas-test-migrate.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A fresh, migrated database for this test run (for this worker, under xdist)."""
    admin_url = make_url(_server_url())
    name = f"ragaas_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    with _one_migration_at_a_time():
        migrate.upgrade(url)
    yield url
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    data_dir = Path(tempfile.mkdtemp(prefix="ragaas-data-"))
    jwt_secret = "test-secret-" + secrets.token_hex(8)
    for secret in (jwt_secret, LOCAL_LLM_KEY, TENANT_PASSWORD):
        register_secret(secret)
    return Settings(
        database_url=database_url,
        # API requests log in as the restricted role, as on the embedded server (trusted socket).
        api_database_url=make_url(database_url)
        .set(username=ROLE, password=None)
        .render_as_string(hide_password=False),
        data_dir=data_dir,
        jwt_secret=jwt_secret,
        seed_demo=False,
        log_json=False,
        max_upload_bytes=2 * 1024 * 1024,
        source_folder_roots=[Path(tempfile.mkdtemp(prefix="ragaas-sources-"))],
        egress_allow=["127.0.0.1", "::1", "localhost"],  # local test servers (docs/security.md)
        # Every test logs in from 127.0.0.1, many with wrong passwords on purpose: the per-address
        # brute-force guard is tested with its own limits (tests/auth/test_login_throttle.py).
        login_max_failures_per_address=100_000,
    )


@pytest.fixture(scope="session")
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    rt = build_runtime(settings)
    yield rt
    await rt.close()


@pytest.fixture(scope="session")
async def client(settings: Settings, runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the real app, with its in-process procrastinate worker running."""
    app = create_app(settings, runtime)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ragaas.test") as c:
            yield c


def listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    return sock


def _wait_until_up(url: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(
                f"{url}/models", headers={"Authorization": f"Bearer {LOCAL_LLM_KEY}"}
            ).raise_for_status()
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@contextlib.contextmanager
def serve_in_thread(app: Any) -> Iterator[str]:
    """Run an ASGI app on a free loopback port in a background thread; yields its base URL."""
    sock = listening_socket()  # handed to uvicorn, so no other process can take the port
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.02)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@pytest.fixture(scope="session")
def local_llm_url() -> Iterator[str]:
    """The local model's OpenAI-compatible server, running in a background thread."""
    app = create_local_llm_app(LocalSmolLM(), api_key=LOCAL_LLM_KEY)
    with serve_in_thread(app) as base:
        _wait_until_up(f"{base}/v1")
        yield f"{base}/v1"


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Server]:
    """One real S3 server (SeaweedFS) for the run: every test works under a prefix of its own.
    Starting and stopping one takes ~15 s, so it is not done per module."""
    from tests.sources.s3_server import running_seaweedfs

    with running_seaweedfs() as server:
        yield server


@dataclass
class Tenant:
    organization_id: uuid.UUID
    user_id: uuid.UUID
    email: str
    password: str
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


TenantFactory = Callable[..., Awaitable[Tenant]]


def free_port() -> int:
    """A loopback TCP port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def running_serve(env: dict[str, str], folder: Path) -> Iterator[tuple[str, Path]]:
    """A real ``ragaas serve`` subprocess with ``env``, logging into ``folder``; yields its URL
    (once /ready answers) and the log file, and stops it afterwards."""
    url = f"http://127.0.0.1:{free_port()}"
    log = folder / "serve.log"
    command = [sys.executable, "-m", "ragaas.cli.main", "serve", "--port", url.rsplit(":", 1)[1]]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, cwd=folder, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                raise AssertionError(f"ragaas serve exited early:\n{log.read_text()}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise AssertionError(f"ragaas serve did not become ready:\n{log.read_text()}")
            time.sleep(0.3)
        yield url, log
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
        LEAKS.check(f"ragaas serve log {log}", log.read_text(errors="replace"))


def server_env(settings: Settings) -> dict[str, str]:
    """RAGAAS_* settings for a `ragaas` subprocess on the test database. Every worker on that
    database may run any test's job, so each must share this process's data dir, secrets and
    allow-lists (folder roots, egress)."""
    assert settings.jwt_secret is not None
    return {
        "RAGAAS_DATABASE_URL": settings.database_url or "",
        "RAGAAS_DATA_DIR": str(settings.data_dir),
        "RAGAAS_JWT_SECRET": settings.jwt_secret.get_secret_value(),
        "RAGAAS_SEED_DEMO": "false",
        "RAGAAS_LOG_JSON": "false",
        "RAGAAS_LOG_LEVEL": "WARNING",
        "RAGAAS_MAX_UPLOAD_BYTES": str(settings.max_upload_bytes),
        "RAGAAS_SOURCE_FOLDER_ROOTS": json.dumps([str(p) for p in settings.source_folder_roots]),
        "RAGAAS_EGRESS_ALLOW": json.dumps(settings.egress_allow),
        "RAGAAS_LOGIN_MAX_FAILURES_PER_ADDRESS": str(settings.login_max_failures_per_address),
    }


@pytest.fixture
def make_tenant(runtime: Runtime) -> TenantFactory:
    """Create an organisation with an admin user and an all-scopes key."""

    async def make(name: str | None = None) -> Tenant:
        org_name = name or f"org-{uuid.uuid4().hex[:10]}"
        email, password = f"admin@{org_name}.test", TENANT_PASSWORD
        async with runtime.sessionmaker() as session:
            org, user, key = await admin_service.bootstrap(session, org_name, email, password)
            await session.commit()
        return Tenant(org.id, user.id, email, password, key)

    return make


@pytest.fixture
async def tenant(make_tenant: TenantFactory) -> Tenant:
    return await make_tenant()


async def wait_for_document(
    client: httpx.AsyncClient, headers: dict[str, str], document_id: str, wait_seconds: float = 90
) -> dict[str, Any]:
    """Poll a document until ingestion finishes (ready or failed)."""
    deadline = asyncio.get_running_loop().time() + wait_seconds
    while True:
        response = await client.get(f"/v1/documents/{document_id}", headers=headers)
        body: dict[str, Any] = response.json()
        if body.get("status") in ("ready", "failed"):
            return body
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"document {document_id} still {body.get('status')}")
        await asyncio.sleep(0.1)
