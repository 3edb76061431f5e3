"""/v1/analytics: every report checked against a history the test writes, in JSON and CSV."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from ragaas.models import Document, QueryHistory
from ragaas.runtime import Runtime
from tests.conftest import Tenant

WINDOW = {"from": "2026-01-01T00:00:00Z", "to": "2026-01-03T00:00:00Z"}


def _at(day: int, hour: int) -> datetime:
    return datetime(2026, 1, day, hour, tzinfo=UTC)


@pytest.fixture
async def history(runtime: Runtime, tenant: Tenant) -> dict[str, Any]:
    org, u1, u2 = tenant.organization_id, tenant.user_id, uuid.uuid4()
    d1, d2 = uuid.uuid4(), uuid.uuid4()
    docs = [
        Document(id=d, organization_id=org, title=t, content_type="text/plain", content_hash=t,
                 blob_key=t, size_bytes=1, status="ready")
        for d, t in ((d1, "Refunds"), (d2, "Parking"))
    ]  # fmt: skip
    rows = [
        QueryHistory(organization_id=org, user_id=u1, kind="search", query="Refund policy",
                     created_at=_at(1, 10), metrics={"results": 3,
                     "timings_ms": {"total_ms": 10, "embed_ms": 4}}),
        QueryHistory(organization_id=org, user_id=u2, kind="chat", query="refund   POLICY ",
                     created_at=_at(1, 11), config_name="support", rating=2,
                     citations=[{"n": 1, "document_id": str(d1)}, {"n": 2, "document_id": str(d1)}],
                     metrics={"retrieved": 2, "timings_ms": {"total_ms": 30}, "tokens_in": 100,
                              "tokens_out": 20, "cost": 0.002, "llm_model": "m1"}),
        QueryHistory(organization_id=org, user_id=u1, kind="chat", query="parking?",
                     created_at=_at(2, 9), rating=5,
                     metrics={"retrieved": 0, "timings_ms": {"total_ms": 50}, "tokens_in": 50,
                              "tokens_out": 10, "cost": 0.001, "llm_model": "m1"}),
        QueryHistory(organization_id=org, user_id=u2, kind="chat", query="card 4111 1111",
                     created_at=_at(2, 10), blocked=True,
                     metrics={"retrieved": 0, "rules": [
                         {"rule_id": "r-pii", "name": "no card numbers", "action": "block"}]}),
        QueryHistory(organization_id=org, user_id=u1, kind="search", query="refund policy",
                     created_at=datetime(2025, 12, 1, tzinfo=UTC), metrics={"results": 0}),
    ]  # fmt: skip
    async with runtime.sessionmaker() as session:
        session.add_all(docs)
        await session.flush()
        session.add_all(rows)
        await session.commit()
    return {"u1": str(u1), "u2": str(u2), "d1": str(d1), "d2": str(d2), "rows": rows}


async def _report(
    client: httpx.AsyncClient, tenant: Tenant, name: str, **params: Any
) -> list[dict[str, Any]]:
    response = await client.get(
        f"/v1/analytics/{name}", params={**WINDOW, **params}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()
    return rows


async def test_volume_latency_and_usage(
    client: httpx.AsyncClient, tenant: Tenant, history: dict[str, Any]
) -> None:
    volume = await _report(client, tenant, "volume")
    assert [
        (r["bucket"][:10], r["total"], r["search"], r["chat"], r["blocked"]) for r in volume
    ] == [
        ("2026-01-01", 2, 1, 1, 0),
        ("2026-01-02", 2, 0, 2, 1),
    ]
    hourly = await _report(client, tenant, "volume", interval="hour")
    assert len(hourly) == 4

    latency = {r["stage"]: r for r in await _report(client, tenant, "latency")}
    # percentile_cont over [10, 30, 50]: p50 30, p95 30 + 0.9 * 20 = 48.
    assert (latency["total_ms"]["queries"], latency["total_ms"]["p50_ms"]) == (3, 30.0)
    assert latency["total_ms"]["p95_ms"] == 48.0
    assert latency["total_ms"]["max_ms"] == 50.0
    assert latency["embed_ms"]["p50_ms"] == 4.0

    by_user = {r["user"]: r for r in await _report(client, tenant, "usage", group_by="user")}
    assert by_user[history["u1"]] == {
        "user": history["u1"], "queries": 2, "tokens_in": 50, "tokens_out": 10, "cost": 0.001,
    }  # fmt: skip
    assert by_user[history["u2"]]["cost"] == 0.002
    assert by_user[history["u2"]]["queries"] == 2
    by_config = await _report(client, tenant, "usage", group_by="config")
    assert [(r["config"], r["queries"]) for r in by_config] == [("support", 1), ("(default)", 3)]
    by_day = await _report(client, tenant, "usage", group_by="day")
    assert [(r["day"], r["tokens_in"]) for r in by_day] == [("2026-01-01", 100), ("2026-01-02", 50)]


async def test_content_and_quality_reports(
    client: httpx.AsyncClient, tenant: Tenant, history: dict[str, Any]
) -> None:
    top = await _report(client, tenant, "top-queries")
    assert (top[0]["query"], top[0]["count"]) == ("refund policy", 2)  # the December one is out

    no_results = await _report(client, tenant, "no-results")
    assert [r["query"] for r in no_results] == ["parking?"]  # the blocked one is not a gap

    rated = await _report(client, tenant, "lowest-rated")
    assert [(r["query"], r["rating"]) for r in rated] == [("refund   POLICY ", 2), ("parking?", 5)]

    cited = await _report(client, tenant, "cited-documents")
    assert [(r["document_id"], r["citations"], r["answers"]) for r in cited] == [
        (history["d1"], 2, 1)
    ]
    uncited = await _report(client, tenant, "uncited-documents")
    assert [r["document_id"] for r in uncited] == [history["d2"]]

    rules = await _report(client, tenant, "guardrails")
    assert rules == [{"rule_id": "r-pii", "name": "no card numbers", "hits": 1, "blocked": 1}]


async def test_csv_export_and_bad_windows(
    client: httpx.AsyncClient, tenant: Tenant, history: dict[str, Any]
) -> None:
    response = await client.get(
        "/v1/analytics/volume", params={**WINDOW, "format": "csv"}, headers=tenant.headers
    )
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="volume.csv"' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["total"], r["blocked"]) for r in rows] == [("2", "0"), ("2", "1")]

    backwards = await client.get(
        "/v1/analytics/volume",
        params={"from": WINDOW["to"], "to": WINDOW["from"]},
        headers=tenant.headers,
    )
    assert backwards.status_code == 422
    assert "'from' must be before 'to'" in backwards.json()["detail"]
    unknown = await client.get(
        "/v1/analytics/usage", params={"group_by": "planet"}, headers=tenant.headers
    )
    assert unknown.status_code == 422
