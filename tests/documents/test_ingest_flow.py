"""Submitting documents: JSON and files, status, dedup, failure, deletion — with a real worker."""

from __future__ import annotations

import httpx

from tests.conftest import Tenant, wait_for_document

DOC = {
    "title": "Refund policy",
    "text": "# Refunds\n\nCustomers may return goods within 30 days for a full refund. "
    "Refunds are paid to the original card within five business days.",
    "external_id": "policy-1",
    "url": "https://intranet.example/policies/refunds",
    "labels": ["policy", "finance"],
    "metadata": {"owner": "finance"},
}


async def test_json_document_becomes_ready_and_searchable(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await client.post("/v1/documents", json=DOC, headers=tenant.headers)
    assert created.status_code == 202, created.text
    doc = await wait_for_document(client, tenant.headers, created.json()["id"])
    assert doc["status"] == "ready", doc
    assert doc["chunk_count"] >= 1
    chunks = (await client.get(f"/v1/documents/{doc['id']}/chunks", headers=tenant.headers)).json()
    assert all(c["embedded"] for c in chunks)
    assert chunks[0]["metadata"]["heading"] == "Refunds"

    found = await client.post(
        "/v1/search", json={"query": "how long do refunds take"}, headers=tenant.headers
    )
    assert found.status_code == 200, found.text
    top = found.json()["results"][0]
    assert top["document_id"] == doc["id"]
    assert top["external_id"] == "policy-1"
    assert top["url"] == DOC["url"]


async def test_identical_content_is_not_ingested_twice(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    first = await client.post("/v1/documents", json=DOC, headers=tenant.headers)
    await wait_for_document(client, tenant.headers, first.json()["id"])
    again = await client.post("/v1/documents", json=DOC, headers=tenant.headers)
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert again.json()["id"] == first.json()["id"]
    listed = (await client.get("/v1/documents", headers=tenant.headers)).json()
    assert listed["total"] == 1


async def test_file_upload_corrupt_pdf_fails_with_reason(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    files = {"file": ("broken.pdf", b"%PDF-1.7\n1 0 obj <<", "application/pdf")}
    created = await client.post("/v1/documents", files=files, headers=tenant.headers)
    assert created.status_code == 202, created.text
    doc = await wait_for_document(client, tenant.headers, created.json()["id"])
    assert doc["status"] == "failed"
    assert "PDF" in doc["error"]


async def test_unsupported_file_is_refused_with_reason(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    files = {"file": ("photo.png", png, "image/png")}
    created = await client.post("/v1/documents", files=files, headers=tenant.headers)
    assert created.status_code == 415, created.text
    assert "unsupported file type (.png image/png)" in created.json()["detail"]
    listed = (await client.get("/v1/documents", headers=tenant.headers)).json()
    assert listed["total"] == 0


async def test_oversized_upload_is_refused_with_413(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    big = b"a " * (1024 * 1024 + 10)  # the test settings allow 2 MiB
    files = {"file": ("big.txt", big, "text/plain")}
    response = await client.post("/v1/documents", files=files, headers=tenant.headers)
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    listed = (await client.get("/v1/documents", headers=tenant.headers)).json()
    assert listed["total"] == 0


async def test_delete_removes_document_and_chunks(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await client.post("/v1/documents", json=DOC, headers=tenant.headers)
    doc_id = created.json()["id"]
    await wait_for_document(client, tenant.headers, doc_id)
    deleted = await client.delete(f"/v1/documents/{doc_id}", headers=tenant.headers)
    assert deleted.status_code == 204
    assert (await client.get(f"/v1/documents/{doc_id}", headers=tenant.headers)).status_code == 404
    found = await client.post("/v1/search", json={"query": "refund"}, headers=tenant.headers)
    assert found.json()["results"] == []


async def test_resubmitting_with_new_labels_updates_without_reingesting(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    first = await client.post("/v1/documents", json=DOC, headers=tenant.headers)
    doc = await wait_for_document(client, tenant.headers, first.json()["id"])
    relabelled = await client.post(
        "/v1/documents", json={**DOC, "labels": ["archive"]}, headers=tenant.headers
    )
    assert relabelled.status_code == 200, relabelled.text
    assert relabelled.json()["duplicate"] is True
    assert relabelled.json()["labels"] == ["archive"]
    assert relabelled.json()["status"] == "ready"
    chunks = (await client.get(f"/v1/documents/{doc['id']}/chunks", headers=tenant.headers)).json()
    assert len(chunks) == doc["chunk_count"]


async def test_changed_content_under_same_external_id_replaces_chunks(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    first = await client.post("/v1/documents", json=DOC, headers=tenant.headers)
    await wait_for_document(client, tenant.headers, first.json()["id"])
    changed = {**DOC, "text": "# Refunds\n\nRefunds are no longer offered after 14 days."}
    second = await client.post("/v1/documents", json=changed, headers=tenant.headers)
    assert second.status_code == 202
    assert second.json()["id"] == first.json()["id"]
    doc = await wait_for_document(client, tenant.headers, second.json()["id"])
    assert doc["status"] == "ready"
    chunks = (await client.get(f"/v1/documents/{doc['id']}/chunks", headers=tenant.headers)).json()
    assert [c["content"] for c in chunks] == ["Refunds are no longer offered after 14 days."]
