"""A `file` source on a server folder: first sync, then insert/update/delete and minimal re-work."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx

from ragaas.settings import Settings
from tests.conftest import Tenant
from tests.sources.helpers import chunk_ids, counts, create_source, source_documents, sync_and_wait


def _folder(settings: Settings) -> Path:
    folder = settings.source_folder_roots[0] / uuid.uuid4().hex
    (folder / "guides").mkdir(parents=True)
    (folder / "alpha.md").write_text("# Alpha\n\nAlpacas graze on the high plateau every morning.")
    (folder / "beta.txt").write_text("Beekeepers harvest honey at the end of summer.")
    (folder / "guides" / "gamma.html").write_text(
        "<html><head><title>Gamma</title></head><body><p>Gannets dive for fish.</p></body></html>"
    )
    return folder


async def test_folder_source_syncs_incrementally(
    client: httpx.AsyncClient, tenant: Tenant, settings: Settings
) -> None:
    folder = _folder(settings)
    source = await create_source(
        client, tenant, name="Handbook", type="file", config={"path": str(folder)}, labels=["hb"]
    )

    first = await sync_and_wait(client, tenant, source["id"])
    assert first["status"] == "succeeded", first
    assert counts(first) == {"added": 3}
    docs = {d["external_id"]: d for d in await source_documents(client, tenant, source["id"])}
    assert set(docs) == {"alpha.md", "beta.txt", "guides/gamma.html"}
    assert all(d["status"] == "ready" and d["labels"] == ["hb"] for d in docs.values())
    kept_chunks = await chunk_ids(client, tenant, docs["alpha.md"]["id"])

    # The source's label is a search filter.
    found = await client.post(
        "/v1/search",
        json={"query": "honey harvest", "filters": {"labels": ["hb"]}, "mode": "lexical"},
        headers=tenant.headers,
    )
    assert found.json()["results"][0]["external_id"] == "beta.txt"

    (folder / "beta.txt").write_text("Beekeepers harvest honey in late August, wearing veils.")
    (folder / "guides" / "gamma.html").unlink()
    (folder / "delta.md").write_text("Dolphins sleep with one half of the brain at a time.")

    second = await sync_and_wait(client, tenant, source["id"])
    assert second["status"] == "succeeded", second
    assert counts(second) == {"added": 1, "updated": 1, "unchanged": 1, "deleted": 1}
    docs = {d["external_id"]: d for d in await source_documents(client, tenant, source["id"])}
    assert set(docs) == {"alpha.md", "beta.txt", "delta.md"}
    assert await chunk_ids(client, tenant, docs["alpha.md"]["id"]) == kept_chunks
    updated = await client.get(
        f"/v1/documents/{docs['beta.txt']['id']}/chunks", headers=tenant.headers
    )
    assert "late August" in updated.json()[0]["content"]

    third = await sync_and_wait(client, tenant, source["id"])
    assert counts(third) == {"unchanged": 3}

    listed = await client.get(f"/v1/data-sources/{source['id']}", headers=tenant.headers)
    assert listed.json()["document_count"] == 3
    assert listed.json()["last_run"]["id"] == third["id"]


async def test_a_bad_file_fails_alone_and_keeps_the_rest(
    client: httpx.AsyncClient, tenant: Tenant, settings: Settings
) -> None:
    folder = _folder(settings)
    (folder / "huge.txt").write_text("x" * 5000)
    source = await create_source(
        client,
        tenant,
        name="Limited",
        type="file",
        config={"path": str(folder), "max_bytes": 4000},
    )
    run = await sync_and_wait(client, tenant, source["id"])
    assert run["status"] == "succeeded"
    assert counts(run) == {"added": 3, "failed": 1}
    assert run["errors"] == [{"external_id": "huge.txt", "error": "5000 bytes, over max_bytes"}]


async def test_a_missing_folder_fails_the_run_and_deletes_nothing(
    client: httpx.AsyncClient, tenant: Tenant, settings: Settings
) -> None:
    folder = _folder(settings)
    source = await create_source(
        client, tenant, name="Gone", type="file", config={"path": str(folder)}
    )
    await sync_and_wait(client, tenant, source["id"])
    moved = folder.with_name(folder.name + "-moved")
    folder.rename(moved)

    run = await sync_and_wait(client, tenant, source["id"])
    assert run["status"] == "failed"
    assert "does not exist" in run["errors"][-1]["error"]
    assert len(await source_documents(client, tenant, source["id"])) == 3

    # Deleting the source removes its documents (and their chunks) with it.
    deleted = await client.delete(f"/v1/data-sources/{source['id']}", headers=tenant.headers)
    assert deleted.status_code == 204
    remaining = await client.get(
        "/v1/documents", params={"data_source_id": source["id"]}, headers=tenant.headers
    )
    assert remaining.json()["total"] == 0
