"""An `s3` source against a real S3 server (SeaweedFS): objects under a prefix become documents."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from ragaas.runtime import Runtime
from ragaas.sources import config as source_config
from ragaas.sources.connectors import s3 as s3_connector
from tests.conftest import Tenant
from tests.sources.helpers import chunk_ids, counts, create_source, source_documents, sync_and_wait
from tests.sources.s3_server import S3Server, free_port

GAMMA = "<html><head><title>Gamma</title></head><body><p>Gannets dive for fish.</p></body></html>"


def _config(s3: S3Server, prefix: str, **extra: Any) -> dict[str, Any]:
    return {
        "endpoint_url": s3.endpoint_url,
        "bucket": s3.bucket,
        "prefix": prefix,
        "access_key_id": s3.access_key_id,
        "secret_access_key": s3.secret_access_key,
        **extra,
    }


def _put(s3: S3Server, key: str, body: str, content_type: str | None = None) -> None:
    extra = {"ContentType": content_type} if content_type else {}
    s3.client().put_object(Bucket=s3.bucket, Key=key, Body=body.encode(), **extra)  # type: ignore[arg-type]


def _prefix(s3: S3Server) -> str:
    """A fresh prefix with three documents, an empty "folder" marker and a near-miss outside."""
    prefix = f"kb-{uuid.uuid4().hex[:8]}/"
    _put(s3, f"{prefix}alpha.md", "# Alpha\n\nAlpacas graze on the high plateau.", "text/markdown")
    _put(s3, f"{prefix}beta.txt", "Beekeepers harvest honey at the end of summer.")
    _put(s3, f"{prefix}guides/gamma.html", GAMMA, "text/html")
    _put(s3, f"{prefix}guides/", "")  # what consoles create for a folder: not a document
    # Shares the prefix's characters but not its "/": outside the source.
    _put(s3, f"{prefix[:-1]}-archive/old.md", "Outdated notes that must not be indexed.")
    return prefix


async def test_s3_source_syncs_incrementally(
    client: httpx.AsyncClient, tenant: Tenant, s3: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two keys a page, so the listing's pagination is exercised against the real server.
    monkeypatch.setattr(s3_connector, "PAGE_SIZE", 2)
    prefix = _prefix(s3)
    source = await create_source(
        client, tenant, name="Bucket KB", type="s3", config=_config(s3, prefix), labels=["kb"]
    )

    first = await sync_and_wait(client, tenant, source["id"])
    assert first["status"] == "succeeded", first
    assert counts(first) == {"added": 3}
    docs = {d["external_id"]: d for d in await source_documents(client, tenant, source["id"])}
    assert set(docs) == {"alpha.md", "beta.txt", "guides/gamma.html"}
    assert all(d["status"] == "ready" and d["labels"] == ["kb"] for d in docs.values())
    gamma = docs["guides/gamma.html"]
    assert gamma["title"] == "gamma"
    assert gamma["url"] == f"s3://{s3.bucket}/{prefix}guides/gamma.html"
    assert gamma["metadata"]["key"] == f"{prefix}guides/gamma.html"
    assert gamma["metadata"]["size"] == len(GAMMA)
    assert len(gamma["metadata"]["etag"]) >= 32
    beta_etag = docs["beta.txt"]["metadata"]["etag"]
    kept_chunks = await chunk_ids(client, tenant, docs["alpha.md"]["id"])

    _put(s3, f"{prefix}beta.txt", "Beekeepers harvest honey in late August, wearing veils.")
    s3.client().delete_object(Bucket=s3.bucket, Key=f"{prefix}guides/gamma.html")
    _put(s3, f"{prefix}delta.md", "Dolphins sleep with one half of the brain at a time.")

    second = await sync_and_wait(client, tenant, source["id"])
    assert second["status"] == "succeeded", second
    assert counts(second) == {"added": 1, "updated": 1, "unchanged": 1, "deleted": 1}
    docs = {d["external_id"]: d for d in await source_documents(client, tenant, source["id"])}
    assert set(docs) == {"alpha.md", "beta.txt", "delta.md"}
    assert await chunk_ids(client, tenant, docs["alpha.md"]["id"]) == kept_chunks
    assert docs["beta.txt"]["metadata"]["etag"] != beta_etag
    found = await client.post(
        "/v1/search",
        json={"query": "honey veils", "filters": {"labels": ["kb"]}, "mode": "lexical"},
        headers=tenant.headers,
    )
    top = found.json()["results"][0]
    assert top["external_id"] == "beta.txt"
    assert "late August" in top["content"]

    third = await sync_and_wait(client, tenant, source["id"])
    assert counts(third) == {"unchanged": 3}


async def test_pattern_and_max_bytes_choose_the_objects(
    client: httpx.AsyncClient, tenant: Tenant, s3: S3Server
) -> None:
    prefix = _prefix(s3)
    _put(s3, f"{prefix}guides/notes.md", "Narwhals have a single long tusk.")
    _put(s3, f"{prefix}huge.md", "x" * 5000)
    config = _config(s3, prefix, pattern="**/*.md", max_bytes=4000)
    source = await create_source(client, tenant, name="Markdown only", type="s3", config=config)

    run = await sync_and_wait(client, tenant, source["id"])
    assert run["status"] == "succeeded", run
    assert counts(run) == {"added": 2, "failed": 1}
    assert run["errors"] == [{"external_id": "huge.md", "error": "5000 bytes, over max_bytes"}]
    docs = await source_documents(client, tenant, source["id"])
    assert {d["external_id"] for d in docs} == {"alpha.md", "guides/notes.md"}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"secret_access_key": "not-the-secret-key"}, "rejected the secret_access_key"),
        ({"bucket": "no-such-bucket"}, "bucket 'no-such-bucket' does not exist"),
        ({"access_key_id": None, "secret_access_key": None}, "access denied to bucket"),
        ({"endpoint_url": "refused"}, "cannot reach http://127.0.0.1:"),
    ],
    ids=["wrong-secret", "missing-bucket", "anonymous", "refused"],
)
async def test_an_unusable_source_fails_the_run_and_deletes_nothing(
    client: httpx.AsyncClient,
    tenant: Tenant,
    s3: S3Server,
    change: dict[str, Any],
    expected: str,
) -> None:
    prefix = _prefix(s3)
    source = await create_source(
        client, tenant, name="Soon broken", type="s3", config=_config(s3, prefix)
    )
    first = await sync_and_wait(client, tenant, source["id"])
    assert counts(first) == {"added": 3}

    if change.get("endpoint_url") == "refused":
        change = {"endpoint_url": f"http://127.0.0.1:{free_port()}"}
    # The whole config goes back, secrets as the API shows them (masked: kept as stored).
    config = {**source["config"], **change}
    changed = await client.patch(
        f"/v1/data-sources/{source['id']}", json={"config": config}, headers=tenant.headers
    )
    assert changed.status_code == 200, changed.text

    run = await sync_and_wait(client, tenant, source["id"])
    assert run["status"] == "failed", run
    message = run["errors"][-1]["error"]
    assert expected in message
    assert "\n" not in message
    assert s3.secret_access_key not in message
    assert "not-the-secret-key" not in message
    assert len(await source_documents(client, tenant, source["id"])) == 3


async def test_s3_keys_are_sealed_and_masked(
    client: httpx.AsyncClient, tenant: Tenant, runtime: Runtime, s3: S3Server
) -> None:
    created = await create_source(
        client, tenant, name="Keys", type="s3", config=_config(s3, "any/")
    )
    assert created["config"]["secret_access_key"] == source_config.MASK
    assert created["config"]["access_key_id"] == source_config.MASK
    assert created["config"]["bucket"] == s3.bucket
    for response in (
        await client.get(f"/v1/data-sources/{created['id']}", headers=tenant.headers),
        await client.get("/v1/data-sources", headers=tenant.headers),
    ):
        assert response.status_code == 200
        assert s3.secret_access_key not in response.text
        assert s3.access_key_id not in response.text
    async with runtime.sessionmaker() as session:
        raw = await session.scalar(
            text("SELECT config::text FROM data_sources WHERE id = :id"), {"id": created["id"]}
        )
    assert raw is not None
    assert s3.secret_access_key not in raw
    assert '"secret_access_key": "enc:v1:' in raw


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"bucket": "not a bucket/name"}, "bucket"),
        ({"secret_access_key": None}, "access_key_id and secret_access_key go together"),
        ({"endpoint_url": "ftp://files.example"}, "endpoint_url"),
        ({"endpoint_url": "http://key:secret@s3.example"}, "endpoint_url"),
        ({"pattern": "[z-a].md"}, "pattern"),
        ({"max_bytes": 0}, "max_bytes"),
    ],
)
async def test_invalid_config_is_a_422_naming_the_field(
    client: httpx.AsyncClient, tenant: Tenant, s3: S3Server, change: dict[str, Any], field: str
) -> None:
    body = {"name": "Bad", "type": "s3", "config": {**_config(s3, "x/"), **change}}
    response = await client.post("/v1/data-sources", json=body, headers=tenant.headers)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert field in detail
    assert s3.secret_access_key not in detail
