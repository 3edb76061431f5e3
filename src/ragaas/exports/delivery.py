"""Where an export goes: straight back to the client, or into the object store with a link.

A large CSV is better fetched from the bucket (resumable, shareable for a while, kept with the
deployment's other files) than held open on an API connection. With ``destination=bucket`` the
file is written under ``exports/<organisation>/`` in the configured S3 bucket and the answer is a
presigned download URL valid for RAGAAS_EXPORT_URL_TTL_SECONDS; without an S3 store it is a 422.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from botocore.exceptions import BotoCoreError, ClientError
from fastapi import Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from ragaas.errors import ServiceUnavailable, Unprocessable
from ragaas.providers.blobstore.base import BlobStore
from ragaas.providers.blobstore.s3 import S3BlobStore

Destination = Literal["download", "bucket"]
CSV = "text/csv; charset=utf-8"


class BucketExport(BaseModel):
    """An export written to the object store."""

    bucket: str
    key: str  # the object's key in the bucket (prefix included)
    url: str  # presigned GET, no credentials needed until expires_at
    expires_at: datetime
    size: int
    content_type: str


@dataclass(frozen=True)
class ExportTarget:
    destination: Destination
    blobs: BlobStore
    url_ttl_seconds: int

    async def deliver(
        self, name: str, organization_id: uuid.UUID, body: bytes, content_type: str = CSV
    ) -> Response:
        """The export as a download, or written to the bucket (201 with its link)."""
        filename = f"{name}.csv"
        if self.destination == "download":
            headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
            return Response(body, media_type=content_type, headers=headers)
        written = await self._to_bucket(name, organization_id, body, content_type, filename)
        return JSONResponse(written.model_dump(mode="json"), status_code=201)

    async def _to_bucket(
        self, name: str, organization_id: uuid.UUID, body: bytes, content_type: str, filename: str
    ) -> BucketExport:
        store = self.blobs
        if not isinstance(store, S3BlobStore):
            raise Unprocessable(
                "destination=bucket needs object storage (RAGAAS_BLOB_STORE=s3); "
                "download the export instead"
            )
        now = datetime.now(UTC)
        stamp = now.strftime("%Y%m%dT%H%M%SZ")
        key = f"exports/{organization_id}/{name}-{stamp}-{secrets.token_hex(4)}.csv"
        try:
            await store.put_download(key, body, content_type, filename)
            url = store.presigned_get(key, self.url_ttl_seconds)
        except (BotoCoreError, ClientError) as exc:
            raise ServiceUnavailable("the object store did not accept the export") from exc
        return BucketExport(
            bucket=store.bucket,
            key=store.object_key(key),
            url=url,
            expires_at=now + timedelta(seconds=self.url_ttl_seconds),
            size=len(body),
            content_type=content_type,
        )


def export_target(
    request: Request,
    destination: Annotated[
        Destination,
        Query(
            description="download (default): the file in the response; bucket: written to the "
            "S3 bucket, answered with a presigned download link (needs format=csv)"
        ),
    ] = "download",
) -> ExportTarget:
    # Checked here, before a report or the audit log is read for nothing.
    if destination == "bucket" and request.query_params.get("format") != "csv":
        raise Unprocessable("destination=bucket writes a CSV file: add format=csv")
    runtime = request.app.state.runtime
    return ExportTarget(destination, runtime.blobs, runtime.settings.export_url_ttl_seconds)


ExportTo = Annotated[ExportTarget, Depends(export_target)]
