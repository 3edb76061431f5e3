"""GET /metrics: request latency by route template, queries by outcome, stage timings, jobs,
queue depth and embedding throughput, all from real requests and the real in-process worker."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from ragaas.app import create_app
from ragaas.jobs.queue import enqueue
from ragaas.observability.metrics import start_worker_metrics_server
from ragaas.providers.llm.openai_compatible import OpenAICompatibleChat
from ragaas.runtime import Runtime
from ragaas.settings import Settings
from tests.conftest import Tenant, wait_for_document
from tests.operations.helpers import parse
from tests.sources.s3_server import free_port

ROOT = Path(__file__).resolve().parents[2]
METRIC = re.compile(r"\bragaas_[a-z_]+")
Q = {"q": "ops-test"}
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def _scrape(c: httpx.AsyncClient) -> Samples:
    response = await c.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


def _delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    key = (name, frozenset(labels.items()))
    return after.get(key, 0.0) - before.get(key, 0.0)


async def _ingest(c: httpx.AsyncClient, tenant: Tenant) -> str:
    body = {"title": "Parking", "text": "Staff park in garage P3; visitors use the north lot."}
    created = await c.post("/v1/documents", json=body, headers=tenant.headers)
    doc = await wait_for_document(c, tenant.headers, created.json()["id"])
    assert doc["status"] == "ready"
    return str(doc["id"])


async def _search(c: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any]) -> Any:
    response = await c.post("/v1/search", json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_metrics_cover_requests_queries_jobs_and_the_queue(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    before = await _scrape(client)
    doc_id = await _ingest(client, tenant)
    assert (await client.get(f"/v1/documents/{doc_id}", headers=tenant.headers)).is_success
    assert (await client.get("/v1/no-such-route")).status_code == 404

    await _search(client, tenant, {"query": "where do staff park"})
    nothing = await _search(client, tenant, {"query": "park", "filters": {"labels": ["none"]}})
    assert nothing["results"] == []
    rule = {
        "name": "no secrets",
        "type": "guardrail",
        "condition": 'query.contains("secret")',
        "action": {"type": "block", "message": "Not here."},
    }
    assert (await client.post("/v1/rules", json=rule, headers=tenant.headers)).is_success
    assert (await _search(client, tenant, {"query": "the secret plan"}))["blocked"]
    question = {"query": "where do staff park"}
    chat = await client.post("/v1/chat", json=question, headers=tenant.headers)
    assert chat.status_code == 200
    after = await _scrape(client)

    http = "ragaas_http_request_duration_seconds_count"
    assert _delta(before, after, http, method="POST", route="/v1/search", status="200") == 3
    # Labelled by template, not by the document's id.
    one_doc = {"method": "GET", "route": "/v1/documents/{document_id}", "status": "200"}
    assert _delta(before, after, http, **one_doc) >= 2
    assert _delta(before, after, http, method="GET", route="unmatched", status="404") == 1
    assert not any(doc_id in dict(labels).get("route", "") for _, labels in after)

    queries = "ragaas_queries_total"
    assert _delta(before, after, queries, kind="search", outcome="ok") == 1
    assert _delta(before, after, queries, kind="search", outcome="no_results") == 1
    assert _delta(before, after, queries, kind="search", outcome="blocked") == 1
    assert _delta(before, after, queries, kind="chat", outcome="ok") == 1
    stage = "ragaas_query_stage_seconds_count"
    for name in ("embed", "lexical", "dense", "hydrate", "total"):
        assert _delta(before, after, stage, kind="search", stage=name) >= 1, name
    assert _delta(before, after, stage, kind="chat", stage="generate") == 1

    jobs = "ragaas_jobs_total"
    assert _delta(before, after, jobs, task="documents.ingest", outcome="succeeded") >= 1
    assert _delta(before, after, jobs, task="chunks.embed", outcome="succeeded") >= 1
    duration = "ragaas_job_duration_seconds_count"
    assert _delta(before, after, duration, task="documents.ingest") >= 1
    assert _delta(before, after, "ragaas_embedded_texts_total") >= 1
    assert _delta(before, after, "ragaas_embedding_seconds_total") > 0
    lookups = "ragaas_query_embedding_cache_total"
    assert _delta(before, after, lookups, result="miss") >= 1
    # Queue depth is read from procrastinate_jobs at scrape time, zero included.
    for queue in ("default", "embeddings"):
        for status in ("todo", "doing"):
            assert ("ragaas_queue_jobs", frozenset({"queue": queue, "status": status}.items())) in (
                after
            )


async def test_queue_depth_counts_waiting_jobs(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant
) -> None:
    # A job scheduled an hour ahead stays `todo` until removed: no worker of the run (they
    # listen to every queue) may fetch it before the scrape.
    async with runtime.sessionmaker() as session:
        await enqueue(session, "ops.noop", {}, queue="ops-test")
        await session.execute(
            text(
                "UPDATE procrastinate_jobs SET scheduled_at = now() + interval '1 hour' "
                "WHERE queue_name = :q"
            ),
            Q,
        )
        await session.commit()
    try:
        samples = await _scrape(client)
        key = ("ragaas_queue_jobs", frozenset({"queue": "ops-test", "status": "todo"}.items()))
        assert samples.get(key) == 1
    finally:
        async with runtime.sessionmaker() as session:
            await session.execute(text("DELETE FROM procrastinate_jobs WHERE queue_name = :q"), Q)
            await session.commit()


async def test_a_failed_answer_counts_as_a_query_error(
    client: httpx.AsyncClient, settings: Settings, runtime: Runtime, tenant: Tenant
) -> None:
    await _ingest(client, tenant)
    dead = OpenAICompatibleChat(base_url=f"http://127.0.0.1:{free_port()}/v1", model="m")
    app_settings = settings.model_copy(update={"workers_in_process": False})
    app = create_app(app_settings, dataclasses.replace(runtime, chat_model=dead))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ops.test") as c:
            before = await _scrape(c)
            failed = await c.post("/v1/chat", json={"query": "parking"}, headers=tenant.headers)
            assert failed.status_code == 502, failed.text
            after = await _scrape(c)
    await dead.aclose()
    assert _delta(before, after, "ragaas_queries_total", kind="chat", outcome="error") == 1
    key = {"method": "POST", "route": "/v1/chat", "status": "502"}
    assert _delta(before, after, "ragaas_http_request_duration_seconds_count", **key) == 1


def test_a_separate_worker_serves_its_own_metrics() -> None:
    port = free_port()
    server = start_worker_metrics_server(port, host="127.0.0.1")
    try:
        body = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    finally:
        server.shutdown()
        server.server_close()
    assert "ragaas_job_duration_seconds" in body
    assert "ragaas_embedded_texts_total" in body


async def test_the_grafana_dashboard_uses_only_metrics_that_exist(
    client: httpx.AsyncClient,
) -> None:
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "ragaas.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert len(exprs) >= 15
    used = {re.sub(r"_(bucket|count|sum|total)$", "", n) for e in exprs for n in METRIC.findall(e)}
    response = await client.get("/metrics")
    families = {f.name for f in text_string_to_metric_families(response.text)}
    assert used <= families, used - families
    assert {"ragaas_queue_jobs", "ragaas_query_stage_seconds", "ragaas_jobs"} <= used


async def test_metrics_can_be_switched_off(settings: Settings, runtime: Runtime) -> None:
    off = {"workers_in_process": False, "metrics_enabled": False}
    app_settings = settings.model_copy(update=off)
    app = create_app(app_settings, runtime)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ops.test") as c:
            assert (await c.get("/metrics")).status_code == 404
            assert (await c.get("/health")).status_code == 200
