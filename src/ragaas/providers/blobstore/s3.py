"""Blobs in an S3-compatible bucket (AWS S3, MinIO, SeaweedFS, Ceph), under an optional prefix.

A PUT of a whole object is atomic in S3 (readers see the old object or the new one, never a part),
which is the guarantee the local store gets from write-and-rename. boto3 is blocking, so every call
runs in a worker thread; its client is thread-safe and shared by all of them.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# S3's answers for "no such object" (a GET) or "no such key" (a HEAD has no body to say which).
_MISSING = {"NoSuchKey", "404", "NotFound"}


class S3BlobStore:
    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix
        config = Config(
            connect_timeout=10,
            read_timeout=60,
            retries={"max_attempts": 3, "mode": "standard"},
            # SigV4 for presigned links too (boto3 may presign with the retired SigV2 otherwise).
            signature_version="s3v4",
            # Self-hosted S3 rarely has per-bucket DNS names; AWS picks its own style.
            s3={"addressing_style": "path" if endpoint_url else "auto"},
        )
        # Keys unset: boto3's default chain (environment, instance or pod role).
        credentials: dict[str, Any] = (
            {"aws_access_key_id": access_key_id, "aws_secret_access_key": secret_access_key}
            if access_key_id and secret_access_key
            else {}
        )
        self.client: S3Client = boto3.session.Session().client(
            "s3", endpoint_url=endpoint_url, region_name=region, config=config, **credentials
        )

    def object_key(self, key: str) -> str:
        """The bucket key for a blob key; refuses keys that could escape the prefix."""
        parts = key.split("/")
        if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"invalid blob key {key!r}")
        return self.prefix + key

    async def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` (one PUT: atomic)."""
        name = self.object_key(key)
        await asyncio.to_thread(self.client.put_object, Bucket=self.bucket, Key=name, Body=data)

    async def put_download(self, key: str, data: bytes, content_type: str, filename: str) -> None:
        """Store a file meant to be downloaded: its type and attachment name go with it."""
        await asyncio.to_thread(
            self.client.put_object,
            Bucket=self.bucket,
            Key=self.object_key(key),
            Body=data,
            ContentType=content_type,
            ContentDisposition=f'attachment; filename="{filename}"',
        )

    def presigned_get(self, key: str, expires_in: int) -> str:
        """A URL that downloads the object without credentials until it expires (SigV4, local
        computation: no request is made)."""
        return self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self.object_key(key)},
            ExpiresIn=expires_in,
        )

    def _get(self, name: str) -> bytes:
        try:
            body: bytes = self.client.get_object(Bucket=self.bucket, Key=name)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                raise FileNotFoundError(f"no blob {name!r} in bucket {self.bucket!r}") from None
            raise
        return body

    async def get(self, key: str) -> bytes:
        """The blob's bytes; FileNotFoundError if it is not in the bucket."""
        return await asyncio.to_thread(self._get, self.object_key(key))

    async def delete(self, key: str) -> None:
        """Delete the blob (S3 deletes of absent keys succeed, as the protocol wants)."""
        name = self.object_key(key)
        await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=name)

    def close(self) -> None:
        """Release the client's connection pool."""
        self.client.close()
