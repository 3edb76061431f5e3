"""Uploads kept in a real S3 server (SeaweedFS): an ingested document's file is an object in the
bucket, the document becomes ready and searchable, and deleting it deletes the object."""

from __future__ import annotations

import uuid

import httpx
import pytest
from botocore.exceptions import ClientError
from pydantic import SecretStr

from ragaas.providers.blobstore.registry import make_blob_store
from ragaas.providers.blobstore.s3 import S3BlobStore
from ragaas.runtime import Runtime, build_runtime
from ragaas.settings import Settings
from tests.conftest import Tenant, wait_for_document
from tests.sources.s3_server import S3Server


def _s3_settings(settings: Settings, s3: S3Server, prefix: str, **extra: object) -> Settings:
    return settings.model_copy(
        update={
            "blob_store": "s3",
            "s3_endpoint_url": s3.endpoint_url,
            "s3_bucket": s3.bucket,
            "s3_prefix": prefix,
            "s3_access_key_id": s3.access_key_id,
            "s3_secret_access_key": SecretStr(s3.secret_access_key),
            **extra,
        }
    )


def _keys(s3: S3Server, prefix: str) -> list[str]:
    listed = s3.client().list_objects_v2(Bucket=s3.bucket, Prefix=prefix)
    return [o["Key"] for o in listed.get("Contents", [])]


async def test_documents_are_stored_in_the_bucket_and_deleted_with_it(
    client: httpx.AsyncClient,
    settings: Settings,
    runtime: Runtime,
    tenant: Tenant,
    s3: S3Server,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    prefix = f"ragaas-{uuid.uuid4().hex[:8]}/"
    store = make_blob_store(_s3_settings(settings, s3, prefix))
    assert isinstance(store, S3BlobStore)
    # The API and the in-process worker share this runtime: both now use the bucket.
    monkeypatch.setattr(runtime, "blobs", store)

    data = b"# Lighthouses\n\nThe lighthouse keeper lights the lamp at dusk every evening.\n"
    files = {"file": ("lighthouses.md", data, "text/markdown")}
    created = await client.post("/v1/documents", files=files, headers=tenant.headers)
    assert created.status_code in (200, 201, 202), created.text
    doc_id = created.json()["id"]

    keys = _keys(s3, prefix)
    assert len(keys) == 1
    assert keys[0].startswith(f"{prefix}{tenant.organization_id}/{doc_id}/")
    assert s3.client().get_object(Bucket=s3.bucket, Key=keys[0])["Body"].read() == data
    assert not any(settings.blob_dir().rglob(f"*{doc_id}*"))  # nothing on local disk

    doc = await wait_for_document(client, tenant.headers, doc_id)
    assert doc["status"] == "ready", doc  # the worker read the file back from the bucket
    found = await client.post(
        "/v1/search", json={"query": "when is the lamp lit"}, headers=tenant.headers
    )
    assert [r["document_id"] for r in found.json()["results"]][:1] == [doc_id]

    deleted = await client.delete(f"/v1/documents/{doc_id}", headers=tenant.headers)
    assert deleted.status_code == 204
    assert _keys(s3, prefix) == []
    store.close()


async def test_blob_store_semantics(s3: S3Server, settings: Settings) -> None:
    prefix = f"ragaas-{uuid.uuid4().hex[:8]}/"
    store = make_blob_store(_s3_settings(settings, s3, prefix))
    assert isinstance(store, S3BlobStore)
    await store.put("org/doc/hash", b"one")
    await store.put("org/doc/hash", b"two")  # overwrites whole
    assert await store.get("org/doc/hash") == b"two"
    await store.delete("org/doc/hash")
    await store.delete("org/doc/hash")  # absent: still fine
    with pytest.raises(FileNotFoundError):
        await store.get("org/doc/hash")
    for bad in ("../escape", "/abs", "a//b", "a/./b", ""):
        with pytest.raises(ValueError, match="invalid blob key"):
            await store.put(bad, b"x")
    store.close()

    # Wrong credentials surface as an error, never as a silently missing file.
    bad_key = SecretStr("nope" * 6)
    wrong = make_blob_store(_s3_settings(settings, s3, prefix, s3_secret_access_key=bad_key))
    with pytest.raises(ClientError, match=r"SignatureDoesNotMatch|AccessDenied|InvalidAccessKey"):
        await wrong.get("org/doc/other")


async def test_settings_choose_the_store(settings: Settings, s3: S3Server) -> None:
    runtime = build_runtime(_s3_settings(settings, s3, "p/"))
    assert isinstance(runtime.blobs, S3BlobStore)
    assert runtime.blobs.prefix == "p/"
    await runtime.close()
    with pytest.raises(ValueError, match="RAGAAS_S3_BUCKET"):
        make_blob_store(settings.model_copy(update={"blob_store": "s3"}))
    with pytest.raises(ValueError, match="go together"):
        make_blob_store(_s3_settings(settings, s3, "", s3_secret_access_key=None))
