"""PostgreSQL restarts while the API is writing: requests during the outage get a 503 problem
(never a 500), the API answers again by itself once PostgreSQL is back (no API restart), every
write it acknowledged is there afterwards, and the queued ingestion jobs still run."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path

import httpx

from ragaas.settings import Settings
from tests.conftest import running_serve, server_env
from tests.faults.conftest import (
    PrivatePostgres,
    as_json,
    bootstrap_key,
    fresh_database,
    wait_until,
)


class Writer:
    """Submits documents one after another until stopped; remembers every answer."""

    def __init__(self, url: str, key: str) -> None:
        self.client = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60
        )
        self.answers: list[tuple[float, int, str, object]] = []  # (time, status, title, body)
        self.stop = threading.Event()

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            title = f"note {n}"
            body = {"title": title, "text": f"Note number {n}: staff park in garage P{n}."}
            try:
                response = self.client.post("/v1/documents", json=body)
                answer = (time.monotonic(), response.status_code, title, as_json(response))
                self.answers.append(answer)
            except httpx.TransportError as exc:  # recorded: the API must not drop connections
                self.answers.append((time.monotonic(), 0, title, repr(exc)))
            n += 1

    def acknowledged(self) -> dict[str, str]:
        return {t: b["id"] for _, s, t, b in self.answers if s == 202 and isinstance(b, dict)}


def test_the_api_survives_a_postgres_restart_under_load(
    settings: Settings, private_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    folder = tmp_path
    with fresh_database(private_postgres.url) as url:
        key = asyncio.run(bootstrap_key(url))
        env = {
            **os.environ,
            **server_env(settings),
            "RAGAAS_DATABASE_URL": url,
            "RAGAAS_DATA_DIR": str(folder / "data"),
        }
        with running_serve(env, folder) as (api, _log):
            writer = Writer(api, key)
            thread = threading.Thread(target=writer.run)
            thread.start()
            try:
                wait_until(lambda: len(writer.acknowledged()) >= 5, 60, "writes before the restart")
                restart_began = time.monotonic()
                private_postgres.restart()
                restart_ended = time.monotonic()
                count = len(writer.acknowledged())
                wait_until(lambda: len(writer.acknowledged()) >= count + 5, 60, "writes after")
            finally:
                writer.stop.set()
                thread.join(timeout=120)

            answers = writer.answers
            statuses = {status for _, status, _, _ in answers}
            assert statuses <= {202, 503}, [a for a in answers if a[1] not in (202, 503)]
            for _, status, _, body in answers:
                if status == 503:
                    assert isinstance(body, dict)
                    assert body["detail"] == "the database is unavailable; retry"
            # Recovered without a restart of the API: writes succeed after PostgreSQL is back.
            assert any(at > restart_ended and s == 202 for at, s, _, _ in answers)
            assert any(at < restart_began and s == 202 for at, s, _, _ in answers)

            # Every acknowledged write is there, and its ingestion job ran to the end.
            acknowledged = writer.acknowledged()
            with httpx.Client(base_url=api, headers={"Authorization": f"Bearer {key}"}) as c:
                listed = c.get("/v1/documents", params={"limit": 200}).json()
                assert {d["title"]: d["id"] for d in listed["items"]} == acknowledged

                def all_ready() -> bool:
                    items = c.get("/v1/documents", params={"limit": 200}).json()["items"]
                    return all(d["status"] == "ready" for d in items)

                wait_until(all_ready, 180, "every acknowledged document to be ingested")
