"""Pick the blob store named in settings."""

from __future__ import annotations

from ragaas.providers.blobstore.base import BlobStore
from ragaas.providers.blobstore.local import LocalBlobStore
from ragaas.providers.blobstore.s3 import S3BlobStore
from ragaas.settings import Settings


def make_blob_store(settings: Settings) -> BlobStore:
    """Local disk by default; an S3-compatible bucket with RAGAAS_BLOB_STORE=s3."""
    if settings.blob_store == "local":
        return LocalBlobStore(settings.blob_dir())
    if not settings.s3_bucket:
        raise ValueError("RAGAAS_S3_BUCKET is required when RAGAAS_BLOB_STORE=s3")
    if bool(settings.s3_access_key_id) != bool(settings.s3_secret_access_key):
        raise ValueError("RAGAAS_S3_ACCESS_KEY_ID and RAGAAS_S3_SECRET_ACCESS_KEY go together")
    secret = settings.s3_secret_access_key
    return S3BlobStore(
        settings.s3_bucket,
        prefix=settings.s3_prefix,
        endpoint_url=settings.s3_endpoint_url or None,
        region=settings.s3_region,
        access_key_id=settings.s3_access_key_id,
        secret_access_key=secret.get_secret_value() if secret else None,
    )
