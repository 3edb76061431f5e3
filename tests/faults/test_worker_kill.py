"""A worker is killed (SIGKILL) in the middle of ingesting a large document: another worker
picks the stalled job up (jobs.retry_stalled), and the document ends ready with every chunk
numbered 0..n-1 once, each embedded — no duplicate and no missing chunk.

It runs on a database of its own, so no other test's worker can take the job."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from ragaas.settings import Settings
from tests.conftest import running_serve, server_env
from tests.faults.conftest import bootstrap_key, fresh_database, running_worker, wait_until

TOPICS = ["refunds", "parking", "holidays", "laptops", "travel", "security", "payroll"]


def _large_document(paragraphs: int = 1200) -> str:
    lines = []
    for i in range(paragraphs):
        topic = TOPICS[i % len(TOPICS)]
        lines.append(
            f"Section {i} on {topic}. Employees asking about {topic} case {i} should read "
            f"rule {i * 7 % 101} first, then contact desk {i % 13} before day {i % 28 + 1}; "
            f"exceptions for {topic} are approved by the head of team {i % 9}.\n"
        )
    return "\n".join(lines)


def _progress(engine: sa.Engine, document_id: str) -> dict[str, Any]:
    with engine.connect() as c:
        row = c.execute(
            sa.text(
                "SELECT d.status, d.chunk_count, count(c.id) AS chunks,"
                " count(c.embedding) AS embedded FROM documents d"
                " LEFT JOIN chunks c ON c.document_id = d.id WHERE d.id = :id"
                " GROUP BY d.status, d.chunk_count"
            ),
            {"id": document_id},
        ).one()
    return dict(row._mapping)


def _jobs(engine: sa.Engine) -> list[dict[str, Any]]:
    with engine.connect() as c:
        rows = c.execute(
            sa.text(
                "SELECT id, task_name, status, attempts FROM procrastinate_jobs"
                " WHERE task_name IN ('documents.ingest', 'chunks.embed') ORDER BY id"
            )
        )
        return [dict(r._mapping) for r in rows]


@pytest.mark.timeout(600)  # a minute or two for the stalled job to be noticed, on 2 cores
def test_a_killed_worker_s_job_is_retried_to_completion(settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path
    server_url = make_url(settings.database_url or "").set(database="postgres")
    with fresh_database(server_url.render_as_string(hide_password=False)) as url:
        key = asyncio.run(bootstrap_key(url))
        env = {
            **os.environ,
            **server_env(settings),
            "RAGAAS_DATABASE_URL": url,
            "RAGAAS_DATA_DIR": str(folder / "data"),  # shared by the API and the workers
            "RAGAAS_WORKERS_IN_PROCESS": "false",
        }
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        try:
            with running_serve(env, folder) as (api, _):
                headers = {"Authorization": f"Bearer {key}"}
                body = {"title": "Handbook", "text": _large_document()}
                created = httpx.post(f"{api}/v1/documents", json=body, headers=headers, timeout=60)
                assert created.status_code == 202, created.text
                document_id = created.json()["id"]

                with running_worker(env, folder / "worker-1.log") as first:

                    def embedding_under_way() -> bool:
                        p = _progress(engine, document_id)
                        embedding = {"task_name": "chunks.embed", "status": "doing"}
                        doing = [j for j in _jobs(engine) if embedding.items() <= j.items()]
                        return bool(doing and p["embedded"] < p["chunks"])

                    wait_until(embedding_under_way, 200, "the first worker to embed", interval=0.2)
                    first.send_signal(signal.SIGKILL)  # no chance to finish or clean up
                    first.wait(timeout=30)
                halfway = _progress(engine, document_id)
                assert halfway["status"] == "processing", halfway
                assert any(j["status"] == "doing" for j in _jobs(engine))  # left by the dead

                with running_worker(env, folder / "worker-2.log") as second:

                    def ready() -> dict[str, Any] | None:
                        p = _progress(engine, document_id)
                        return p if p["status"] in ("ready", "failed") else None

                    final = wait_until(ready, 300, "the document to be ingested", interval=2)
                    second.terminate()  # a clean stop: SIGTERM ends the supervised worker
                    assert second.wait(timeout=60) == 0

                assert final["status"] == "ready", final
                assert final["chunks"] == final["chunk_count"] == halfway["chunk_count"]
                assert final["embedded"] == final["chunks"]
                with engine.connect() as c:
                    numbers = c.scalars(
                        sa.text(
                            "SELECT chunk_number FROM chunks WHERE document_id = :id"
                            " ORDER BY chunk_number"
                        ),
                        {"id": document_id},
                    ).all()
                assert numbers == list(range(final["chunk_count"]))
                jobs = _jobs(engine)
                assert all(j["status"] == "succeeded" for j in jobs), jobs
                assert any(j["attempts"] >= 2 for j in jobs), jobs  # the stalled one, retried
                log = (folder / "worker-2.log").read_text()
                assert "retrying stalled job" in log, log[-3000:]
        finally:
            engine.dispose()
