"""What the OpenAPI fuzzing found, pinned as plain tests: each was a 500 or an undeclared answer."""

from __future__ import annotations

import httpx

from tests.conftest import Tenant


async def test_a_nul_character_is_a_422_not_a_500(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    # PostgreSQL text cannot hold NUL; the value is the caller's, so the answer is a 4xx.
    response = await client.post(
        "/v1/rag-configs",
        headers=tenant.headers,
        json={"name": "nul", "params": {"system_prompt": "a\u0000b"}},
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"].startswith("the database refused a value")
    login = await client.post("/v1/auth/login", json={"email": "a\u0000@b.c", "password": "x"})
    assert login.status_code == 422, login.text


async def test_an_offset_beyond_the_database_range_is_a_422(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.get("/v1/documents", headers=tenant.headers, params={"offset": 2**63})
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith("query.offset")
    ok = await client.get("/v1/documents", headers=tenant.headers, params={"offset": 2**63 - 1})
    assert ok.status_code == 200


async def test_the_schema_declares_problem_responses(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    get_document = document["paths"]["/v1/documents/{document_id}"]["get"]["responses"]
    shared = document["components"]["responses"]
    for code in ("401", "403", "404", "422", "429", "503"):
        name = get_document[code]["$ref"].removeprefix("#/components/responses/")
        assert shared[name]["content"] == problem, code
    me = document["paths"]["/v1/auth/me"]["get"]["responses"]
    assert "401" in me
    assert "403" not in me
    assert "HTTPValidationError" not in document["components"]["schemas"]
    csv = document["paths"]["/v1/analytics/volume"]["get"]["responses"]["200"]["content"]
    assert set(csv) == {"application/json", "text/csv"}
    assert "404" not in document["paths"]["/health"]["get"]["responses"]


async def test_a_report_window_before_year_one_is_a_422(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.get(
        "/v1/analytics/usage", headers=tenant.headers, params={"to": "0001-01-01T00:00:00+01:00"}
    )
    assert response.status_code == 422, response.text
    assert "before year 1" in response.json()["detail"]
