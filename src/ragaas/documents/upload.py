"""Reading a document submission from either a multipart upload or a JSON body."""

from __future__ import annotations

import json
import mimetypes
from typing import Any

from fastapi import Request
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from ragaas.documents.schemas import DocumentCreate, normalise_labels
from ragaas.documents.service import Upload
from ragaas.errors import PayloadTooLarge, Unprocessable, UnsupportedMediaType
from ragaas.ingestion.parsers import UnsupportedFormat, detect_format

# The multipart envelope adds a little to the file itself.
MULTIPART_OVERHEAD = 64 * 1024


async def read_upload(request: Request, max_bytes: int) -> Upload:
    """Parse the request body into an Upload; 413 when too large, 415/422 when malformed."""
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > max_bytes + MULTIPART_OVERHEAD:
        raise PayloadTooLarge(f"the request is {length} bytes; the upload limit is {max_bytes}")
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        return await _from_form(request, max_bytes)
    if content_type.startswith("application/json"):
        return await _from_json(request)
    raise UnsupportedMediaType("send multipart/form-data with a 'file' field, or application/json")


async def _from_json(request: Request) -> Upload:
    try:
        body = DocumentCreate.model_validate_json(await request.body())
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise Unprocessable(f"{where}: {first['msg']}") from None
    return Upload(
        data=body.text.encode(),
        title=body.title,
        content_type="text/markdown",
        external_id=body.external_id,
        url=body.url,
        metadata=body.metadata,
        labels=body.labels,
    )


async def _from_form(request: Request, max_bytes: int) -> Upload:
    form = await request.form(max_files=1)
    file = form.get("file")
    if not isinstance(file, UploadFile):
        raise Unprocessable(
            "file: a multipart field named 'file' is required (if you sent one, the body was "
            "truncated before its end)"
        )
    data = await file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"the file is larger than the upload limit of {max_bytes} bytes")
    filename = file.filename or "upload"
    guessed = mimetypes.guess_type(filename)[0]
    content_type = file.content_type or guessed or "application/octet-stream"
    try:  # refused now rather than accepted and failed later: nothing could read it
        detect_format(filename, content_type, data)
    except UnsupportedFormat as exc:
        raise UnsupportedMediaType(f"file: {exc}") from None
    return Upload(
        data=data,
        title=_text(form.get("title")),
        content_type=content_type,
        filename=filename,
        external_id=_text(form.get("external_id")),
        url=_text(form.get("url")),
        metadata=_json_object(form.get("metadata")),
        labels=_labels(form.get("labels")),
    )


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _json_object(value: Any) -> dict[str, Any]:
    if not isinstance(value, str) or not value.strip():
        return {}
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        raise Unprocessable(f"metadata: not valid JSON ({exc.msg})") from None
    if not isinstance(parsed, dict):
        raise Unprocessable("metadata: must be a JSON object")
    return parsed


def _labels(value: Any) -> list[str]:
    if not isinstance(value, str):
        return []
    try:
        return normalise_labels(value.split(","))
    except ValueError as exc:
        raise Unprocessable(f"labels: {exc}") from None
