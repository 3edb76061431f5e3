"""/v1/queries: real searches and chats land in the history; feedback by the asker or an admin."""

from __future__ import annotations

import httpx

from tests.conftest import Tenant, wait_for_document


async def _user_headers(client: httpx.AsyncClient, tenant: Tenant, role: str) -> dict[str, str]:
    email = f"{role}-{tenant.organization_id.hex[:6]}@example.test"
    created = await client.post(
        "/v1/users",
        json={"email": email, "password": "a long password", "role": role},
        headers=tenant.headers,
    )
    assert created.status_code == 201, created.text
    login = await client.post(
        "/v1/auth/login",
        json={"email": email, "password": "a long password"},
    )
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def test_history_records_queries_and_takes_feedback(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    doc = await client.post(
        "/v1/documents",
        json={"title": "Parking", "text": "Staff park in garage P3 on level minus two."},
        headers=tenant.headers,
    )
    await wait_for_document(client, tenant.headers, doc.json()["id"])
    viewer = await _user_headers(client, tenant, "viewer")
    analyst = await _user_headers(client, tenant, "analyst")

    searched = await client.post("/v1/search", json={"query": "garage"}, headers=viewer)
    assert searched.status_code == 200
    asked = await client.post("/v1/chat", json={"query": "Where do staff park?"}, headers=viewer)
    assert asked.status_code == 200
    query_id = asked.json()["query_id"]

    # The viewer may ask but not read the organisation's history; the analyst may.
    assert (await client.get("/v1/queries", headers=viewer)).status_code == 403
    listed = await client.get("/v1/queries", headers=analyst)
    assert listed.status_code == 200
    assert [q["kind"] for q in listed.json()["items"]] == ["chat", "search"]
    assert listed.json()["total"] == 2
    chats = await client.get("/v1/queries", params={"kind": "chat"}, headers=analyst)
    assert [q["id"] for q in chats.json()["items"]] == [query_id]

    detail = await client.get(f"/v1/queries/{query_id}", headers=analyst)
    body = detail.json()
    assert body["query"] == "Where do staff park?"
    assert body["citations"][0]["title"] == "Parking"
    assert body["metrics"]["timings_ms"]["total_ms"] > 0

    # Feedback: the asker may rate; another user (not admin) may not; an admin may.
    rated = await client.post(
        f"/v1/queries/{query_id}/feedback", json={"rating": 4, "comment": "ok"}, headers=viewer
    )
    assert rated.status_code == 200, rated.text
    assert (rated.json()["rating"], rated.json()["feedback_comment"]) == (4, "ok")
    other = await client.post(
        f"/v1/queries/{query_id}/feedback", json={"rating": 1}, headers=analyst
    )
    assert other.status_code == 403
    bad = await client.post(f"/v1/queries/{query_id}/feedback", json={"rating": 6}, headers=viewer)
    assert bad.status_code == 422
    admin = await client.post(
        f"/v1/queries/{query_id}/feedback", json={"rating": 2}, headers=tenant.headers
    )
    assert admin.status_code == 200
    low = await client.get("/v1/queries", params={"max_rating": 2}, headers=analyst)
    assert [q["id"] for q in low.json()["items"]] == [query_id]


async def test_another_organisations_query_is_404(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: object
) -> None:
    asked = await client.post("/v1/search", json={"query": "anything"}, headers=tenant.headers)
    assert asked.status_code == 200
    listed = await client.get("/v1/queries", headers=tenant.headers)
    query_id = listed.json()["items"][0]["id"]
    stranger = await make_tenant()  # type: ignore[operator]
    assert (
        await client.get(f"/v1/queries/{query_id}", headers=stranger.headers)
    ).status_code == 404
    feedback = await client.post(
        f"/v1/queries/{query_id}/feedback", json={"rating": 3}, headers=stranger.headers
    )
    assert feedback.status_code == 404
