"""`ragaas serve --processes N`: several app processes on one port, a dead one replaced."""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil
import pytest
from sqlalchemy.engine import make_url

from ragaas.cli.serve import process_environment
from ragaas.settings import Settings
from ragaas.tenancy.scope import ROLE
from tests.conftest import Tenant, running_serve, server_env, wait_for_document


def _app_processes(port: int) -> list[psutil.Process]:
    """The spawned app processes of the `ragaas serve` listening on ``port``."""
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if "serve" in cmdline and str(port) in cmdline:
            return [child for child in process.children() if _is_app_process(child)]
    raise AssertionError(f"no ragaas serve on port {port}")


def _is_app_process(process: psutil.Process) -> bool:
    try:  # a killed one stays a zombie until its parent reaps it
        return process.status() != psutil.STATUS_ZOMBIE and "spawn_main" in " ".join(
            process.cmdline()
        )
    except psutil.Error:
        return False


def _wait_for_processes(port: int, count: int, not_pid: int | None = None) -> list[psutil.Process]:
    deadline = time.monotonic() + 120
    while True:
        found = [p for p in _app_processes(port) if p.is_running() and p.pid != not_pid]
        if len(found) == count:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"expected {count} app processes, found {found}")
        time.sleep(0.2)


def _search(url: str, tenant: Tenant) -> list[str]:
    response = httpx.post(
        f"{url}/v1/search",
        json={"query": "When does the ferry to the island leave?", "top_k": 3},
        headers=tenant.headers,
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return [r["title"] for r in response.json()["results"]]


@pytest.mark.timeout(600)
async def test_requests_are_answered_by_several_processes_and_a_dead_one_is_replaced(
    client: httpx.AsyncClient, settings: Settings, tenant: Tenant, tmp_path: Path
) -> None:
    body = {"title": "Ferry timetable", "text": "The ferry to the island leaves at 7:40 daily."}
    created = await client.post("/v1/documents", json=body, headers=tenant.headers)
    assert created.status_code == 202, created.text
    assert (await wait_for_document(client, tenant.headers, created.json()["id"]))["status"] == (
        "ready"
    )
    env = {
        **os.environ,
        **server_env(settings),
        "RAGAAS_API_PROCESSES": "2",
        "RAGAAS_WORKERS_IN_PROCESS": "false",
    }
    with running_serve(env, tmp_path) as (url, _log):
        port = int(url.rsplit(":", 1)[1])
        first, second = _wait_for_processes(port, 2)
        # Concurrent searches through both processes (each authenticates and scopes its own
        # connection): every answer finds the organisation's document.
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: _search(url, tenant), range(16)))
        assert all(titles[:1] == ["Ferry timetable"] for titles in answers), answers

        first.send_signal(signal.SIGKILL)
        replaced = _wait_for_processes(port, 2, not_pid=first.pid)
        assert second.pid in {p.pid for p in replaced}
        assert _search(url, tenant)[:1] == ["Ferry timetable"]
        every = [first, *replaced]
    _gone, alive = psutil.wait_procs(every, timeout=30)
    assert not alive, alive


def test_app_processes_reach_the_embedded_database_as_the_restricted_role(
    settings: Settings,
) -> None:
    url = "postgresql+psycopg://postgres@/ragaas?host=/tmp/ragaas-pg"
    embedded = settings.model_copy(update={"database_url": None, "api_database_url": None})
    env = process_environment(embedded, url)
    assert env["RAGAAS_DATABASE_URL"] == url
    assert make_url(env["RAGAAS_API_DATABASE_URL"]).username == ROLE
    assert env["RAGAAS_SEED_DEMO"] == "false"
    # `--no-workers-in-process` reaches the app processes (they read only the environment).
    flagged = embedded.model_copy(update={"workers_in_process": False})
    assert process_environment(flagged, url)["RAGAAS_WORKERS_IN_PROCESS"] == "false"
    # A configured server keeps its own settings for the restricted role.
    assert "RAGAAS_API_DATABASE_URL" not in process_environment(settings, url)
