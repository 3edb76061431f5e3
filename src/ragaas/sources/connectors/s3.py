"""``s3`` sources: the objects of an S3-compatible bucket under a prefix, one document per object.

A full lister: every sync lists the prefix (``list_objects_v2``, page by page) and downloads every
matching object; the sync engine compares content hashes, so an unchanged object costs a download,
not an embedding, and an object no longer listed has its document deleted. boto3 is blocking, so
each call runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import mimetypes
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar
from urllib.parse import urlsplit

import boto3
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

from ragaas.security.egress import EgressPolicy, EgressRefused
from ragaas.sources.connectors.base import (
    BuildContext,
    ConnectorError,
    ConnectorType,
    Event,
    ItemError,
    SourceItem,
    SyncState,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

P = ParamSpec("P")
T = TypeVar("T")
PAGE_SIZE = 1000
# Content types that say nothing: the object's name is a better guide.
_GENERIC_TYPES = {"", "application/octet-stream", "binary/octet-stream"}
# Errors that mean the endpoint is not answering (the source as a whole is unusable), in words.
_UNREACHABLE: dict[type[BotoCoreError], str] = {
    EndpointConnectionError: "connection refused or host not found",
    ConnectTimeoutError: "connection timed out",
    ReadTimeoutError: "no answer in time",
    ConnectionClosedError: "connection closed",
}
_UNREACHABLE_TYPES = tuple(_UNREACHABLE)


class S3Config(BaseModel):
    """Where the objects are and how to sign for them; the keys are SecretStr (sealed, masked)."""

    endpoint_url: str | None = Field(
        default=None,
        description="S3-compatible endpoint, e.g. 'https://minio.example:9000'; empty for AWS S3.",
    )
    region: str = Field(default="us-east-1", min_length=1)
    bucket: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{2,254}$", description="Bucket name.")
    prefix: str = Field(default="", description="Only keys starting with it; end it with '/'.")
    access_key_id: SecretStr | None = Field(
        default=None,
        min_length=1,
        description="With secret_access_key; both empty: anonymous (public buckets).",
    )
    secret_access_key: SecretStr | None = Field(default=None, min_length=1)
    pattern: str = Field(default="**/*", description="Glob on the key relative to prefix.")
    max_bytes: int = Field(default=50_000_000, gt=0, description="Larger objects are failed items.")

    @field_validator("endpoint_url")
    @classmethod
    def _endpoint_is_http(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        if parts.username or parts.password:
            raise ValueError("must not carry credentials; use access_key_id / secret_access_key")
        return value.rstrip("/")

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, value: str) -> str:
        glob_regex(value)
        return value

    @model_validator(mode="after")
    def _keys_go_together(self) -> S3Config:
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise ValueError(
                "access_key_id and secret_access_key go together (or both empty: anonymous)"
            )
        return self


def glob_regex(pattern: str) -> re.Pattern[str]:
    """Compile a path glob: ``*`` and ``?`` stay within a segment, ``**/`` spans any depth.

    Written out because ``PurePath.match`` of Python 3.11 has no recursive ``**``; the meaning is
    that of ``Path.glob``, so a ``file`` and an ``s3`` source read the same pattern alike.
    """
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:[^/]*/)*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and (end := pattern.find("]", i + 2)) != -1:
            out.append(_char_class(pattern[i + 1 : end]))
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    try:
        return re.compile("".join(out) + r"\Z", re.DOTALL)
    except re.error as exc:
        raise ValueError(f"not a usable glob: {exc}") from None


def _char_class(body: str) -> str:
    negate = body.startswith("!")
    body = body[1:] if negate else body
    escaped = body.replace("\\", "\\\\").replace("[", "\\[").replace("^", "\\^")
    return f"[{'^/' if negate else ''}{escaped}]"


@dataclass(frozen=True)
class _Listed:
    """One object as the listing shows it (the download comes later)."""

    key: str
    relative: str
    size: int
    etag: str
    modified_at: datetime | None


class S3Connector:
    """Lists the prefix and downloads every matching object (a full lister).

    Listing with ETags alone could skip unchanged downloads, but an ETag is not a content hash
    for multipart uploads and differs across S3 implementations; the engine's SHA-256 is exact.
    """

    incremental = False

    def __init__(self, config: S3Config, egress: EgressPolicy | None = None) -> None:
        self.config = config
        self.match = glob_regex(config.pattern)
        self.egress = egress or EgressPolicy()

    async def items(self, state: SyncState) -> AsyncIterator[Event]:
        if self.config.endpoint_url:  # SSRF guard: resolve and check it before boto3 connects
            try:
                await self.egress.check_url(self.config.endpoint_url)
            except EgressRefused as exc:
                raise ConnectorError(f"endpoint_url: {exc}") from None
        client = await asyncio.to_thread(self._client)
        try:
            token: str | None = None
            while True:
                listed, token = await self._call(self._page, client, token)
                for obj in listed:
                    yield await self._call(self._fetch, client, obj)
                if token is None:
                    return
        finally:
            await asyncio.to_thread(client.close)

    def _client(self) -> S3Client:
        c = self.config
        # Credentials are the source's own, or none (unsigned): never the server's environment,
        # which would let a tenant read whatever the server's role can.
        anonymous = c.access_key_id is None or c.secret_access_key is None
        signing: dict[str, Any] = {"signature_version": UNSIGNED} if anonymous else {}
        config = Config(
            connect_timeout=10,
            read_timeout=60,
            retries={"max_attempts": 3, "mode": "standard"},
            # Self-hosted S3 (MinIO, SeaweedFS, Ceph) rarely has per-bucket DNS names.
            s3={"addressing_style": "path" if c.endpoint_url else "auto"},
            **signing,
        )
        session = boto3.session.Session()
        return session.client(
            "s3",
            endpoint_url=c.endpoint_url,
            region_name=c.region,
            aws_access_key_id=c.access_key_id.get_secret_value() if c.access_key_id else None,
            aws_secret_access_key=(
                c.secret_access_key.get_secret_value() if c.secret_access_key else None
            ),
            config=config,
        )

    async def _call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a blocking boto3 step; the source being unusable is one clear ConnectorError."""
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except (BotoCoreError, ClientError) as exc:
            raise ConnectorError(self._describe(exc)) from exc

    def _page(self, client: S3Client, token: str | None) -> tuple[list[_Listed], str | None]:
        c = self.config
        kwargs: dict[str, Any] = {"Bucket": c.bucket, "Prefix": c.prefix, "MaxKeys": PAGE_SIZE}
        if token:
            kwargs["ContinuationToken"] = token
        page = client.list_objects_v2(**kwargs)
        listed = []
        for obj in page.get("Contents", []):
            key = obj.get("Key", "")
            relative = key[len(c.prefix) :].lstrip("/")
            # A key ending in '/' is a console-made "folder", not a document.
            if not relative or key.endswith("/") or not self.match.match(relative):
                continue
            listed.append(
                _Listed(
                    key=key,
                    relative=relative,
                    size=obj.get("Size", 0),
                    etag=obj.get("ETag", "").strip('"'),
                    modified_at=obj.get("LastModified"),
                )
            )
        more = page.get("IsTruncated") and page.get("NextContinuationToken")
        return listed, more or None

    def _fetch(self, client: S3Client, obj: _Listed) -> SourceItem | ItemError:
        limit = self.config.max_bytes
        if obj.size > limit:
            return ItemError(obj.relative, f"{obj.size} bytes, over max_bytes")
        try:
            response = client.get_object(Bucket=self.config.bucket, Key=obj.key)
            with response["Body"] as body:
                data = body.read(limit + 1)
        except _UNREACHABLE_TYPES:
            raise  # the endpoint went away: fail the run rather than each item
        except ClientError as exc:
            return ItemError(obj.relative, f"cannot read: {_error_code(exc)}")
        except BotoCoreError as exc:
            return ItemError(obj.relative, f"cannot read: {_first_line(str(exc))}")
        if len(data) > limit:
            return ItemError(obj.relative, f"over max_bytes ({limit} bytes)")
        name = PurePosixPath(obj.key).name
        return SourceItem(
            external_id=obj.relative,
            title=PurePosixPath(name).stem or name,
            content=data,
            content_type=_content_type(response.get("ContentType", ""), name),
            url=f"s3://{self.config.bucket}/{obj.key}",
            filename=name,
            metadata={"key": obj.key, "etag": obj.etag, "size": len(data)},
            modified_at=obj.modified_at,
        )

    def _describe(self, exc: BotoCoreError | ClientError) -> str:
        """One line for the run's error: what went wrong and what to check, never a secret."""
        bucket, region = self.config.bucket, self.config.region
        where = _endpoint_label(self.config.endpoint_url)
        if isinstance(exc, ClientError):
            code = _error_code(exc)
            known = {
                "NoSuchBucket": f"bucket {bucket!r} does not exist at {where}",
                "AccessDenied": f"access denied to bucket {bucket!r} at {where}",
                "InvalidAccessKeyId": f"{where} does not know this access_key_id",
                "SignatureDoesNotMatch": f"{where} rejected the secret_access_key of this key id",
                "PermanentRedirect": f"bucket {bucket!r} is not in region {region!r}",
                "AuthorizationHeaderMalformed": f"bucket {bucket!r} is not in region {region!r}",
            }
            return known.get(code, f"S3 error from {where}: {code}")
        for kind, words in _UNREACHABLE.items():
            if isinstance(exc, kind):
                return f"cannot reach {where}: {words}"
        return f"S3 client error: {_first_line(str(exc))}"


def _content_type(given: str, name: str) -> str:
    if given.split(";")[0].strip().lower() not in _GENERIC_TYPES:
        return given
    guessed, _ = mimetypes.guess_type(name)
    return guessed or "application/octet-stream"


def _error_code(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    return str(error.get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode"))


def _endpoint_label(endpoint_url: str | None) -> str:
    if endpoint_url is None:
        return "AWS S3"
    parts = urlsplit(endpoint_url)
    return f"{parts.scheme}://{parts.netloc}"


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "unknown error"
    return line[:300]


def _build(config: S3Config, ctx: BuildContext) -> S3Connector:
    if config.endpoint_url:
        ctx.egress.check_static(config.endpoint_url, "endpoint_url")  # a 422 on create
    return S3Connector(config, ctx.egress)


CONNECTOR_TYPE = ConnectorType(
    "s3", S3Config, _build, "objects of an S3-compatible bucket under a prefix"
)
