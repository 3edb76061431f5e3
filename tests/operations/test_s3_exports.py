"""Exports written to the object store (``destination=bucket``) on a real S3 server (SeaweedFS):
the audit log and analytics CSVs land under exports/<organisation>/ with a presigned link that
downloads them without credentials; without an S3 store, or as JSON, the request is refused."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from ragaas.providers.blobstore.registry import make_blob_store
from ragaas.runtime import Runtime
from ragaas.settings import Settings
from tests.conftest import Tenant
from tests.operations.test_s3_blobstore import _s3_settings
from tests.sources.s3_server import S3Server


async def _fetch(url: str) -> httpx.Response:
    """A plain GET, as a browser or curl would do with the link: no credentials."""
    async with httpx.AsyncClient() as plain:
        return await plain.get(url)


@pytest.fixture
def bucket_store(
    settings: Settings, runtime: Runtime, s3: S3Server, monkeypatch: pytest.MonkeyPatch
) -> str:
    """The app's blob store is the bucket, under a prefix of this test's own."""
    prefix = f"ragaas-{uuid.uuid4().hex[:8]}/"
    monkeypatch.setattr(runtime, "blobs", make_blob_store(_s3_settings(settings, s3, prefix)))
    return prefix


async def test_audit_csv_goes_to_the_bucket_with_a_presigned_link(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, s3: S3Server, bucket_store: str
) -> None:
    signed_in = await client.post(
        "/v1/auth/login", json={"email": tenant.email, "password": tenant.password}
    )
    assert signed_in.status_code == 200  # an auth.login event to export
    answer = await client.get(
        "/v1/audit",
        params={"format": "csv", "destination": "bucket", "action": "auth."},
        headers=tenant.headers,
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["bucket"] == s3.bucket
    assert body["key"].startswith(f"{bucket_store}exports/{tenant.organization_id}/audit-")
    assert body["key"].endswith(".csv")
    assert body["content_type"].startswith("text/csv")
    query = parse_qs(urlparse(body["url"]).query)
    ttl = runtime.settings.export_url_ttl_seconds
    assert query["X-Amz-Expires"] == [str(ttl)]
    expires = datetime.fromisoformat(body["expires_at"])
    assert 0 < (expires - datetime.now(expires.tzinfo)).total_seconds() <= ttl

    # The link alone downloads it: no credentials, straight from the S3 server.
    downloaded = await _fetch(body["url"])
    assert downloaded.status_code == 200, downloaded.text
    assert downloaded.headers["content-type"].startswith("text/csv")
    assert 'filename="audit.csv"' in downloaded.headers["content-disposition"]
    assert len(downloaded.content) == body["size"]
    rows = list(csv.DictReader(io.StringIO(downloaded.text)))
    assert [r["action"] for r in rows] == ["auth.login"]
    assert rows[0]["actor_user_id"] == str(tenant.user_id)
    # The same object, as the bucket holds it.
    stored = s3.client().get_object(Bucket=s3.bucket, Key=body["key"])["Body"].read()
    assert stored == downloaded.content
    # A tampered link does not open (the signature covers the key).
    other_key = body["url"].replace("/audit-", "/audit-x")
    assert (await _fetch(other_key)).status_code == 403

    # The export itself is audited, with where it went.
    recent = await client.get(
        "/v1/audit", params={"action": "audit.export"}, headers=tenant.headers
    )
    events = recent.json()["items"]
    assert events[0]["details"]["filters"]["destination"] == "bucket"


async def test_analytics_report_in_the_bucket_matches_the_download(
    client: httpx.AsyncClient, tenant: Tenant, s3: S3Server, bucket_store: str
) -> None:
    searched = await client.post("/v1/search", json={"query": "lamp"}, headers=tenant.headers)
    assert searched.status_code == 200
    direct = await client.get(
        "/v1/analytics/volume", params={"format": "csv"}, headers=tenant.headers
    )
    assert direct.status_code == 200
    assert direct.headers["content-type"].startswith("text/csv")
    assert 'filename="volume.csv"' in direct.headers["content-disposition"]

    answer = await client.get(
        "/v1/analytics/volume",
        params={"format": "csv", "destination": "bucket"},
        headers=tenant.headers,
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["key"].startswith(f"{bucket_store}exports/{tenant.organization_id}/volume-")
    downloaded = await _fetch(body["url"])
    assert downloaded.status_code == 200
    assert downloaded.content == direct.content
    assert next(csv.DictReader(io.StringIO(downloaded.text)))["total"] == "1"


async def test_bucket_exports_are_refused_without_s3_or_as_json(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    # The session's store is the local disk: no bucket to write to.
    local = await client.get(
        "/v1/audit", params={"format": "csv", "destination": "bucket"}, headers=tenant.headers
    )
    assert local.status_code == 422
    assert local.headers["content-type"] == "application/problem+json"
    assert "RAGAAS_BLOB_STORE=s3" in local.json()["detail"]
    as_json = await client.get(
        "/v1/analytics/latency", params={"destination": "bucket"}, headers=tenant.headers
    )
    assert as_json.status_code == 422
    assert "format=csv" in as_json.json()["detail"]
    unknown = await client.get(
        "/v1/audit", params={"format": "csv", "destination": "ftp"}, headers=tenant.headers
    )
    assert unknown.status_code == 422
    anonymous = await client.get("/v1/audit", params={"format": "csv", "destination": "bucket"})
    assert anonymous.status_code == 401
