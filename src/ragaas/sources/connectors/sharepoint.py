"""``sharepoint`` sources: the files of a SharePoint document library, through Microsoft Graph.

The connector is *incremental*: it reads the library with Graph's delta query
(``GET /drives/{drive-id}/root/delta``). The first sync enumerates the whole drive; the
``@odata.deltaLink`` of its last page is kept in the cursor, and the next sync asks that link for
what changed since (new and modified files, ``deleted`` facets), so unchanged files are not even
listed. When Graph no longer honours a delta link (``410 Gone``) the connector starts a fresh
enumeration and deletes the documents it did not see in it.

Graph's delta responses carry no ``parentReference.path`` (a renamed folder does not re-list its
descendants), so paths are rebuilt from folder ids: from the folders in the feed itself, otherwise
with one ``GET /drives/{drive-id}/items/{id}`` per unknown folder.

The cursor is a small JSON object rather than the bare delta link: it also records which drive,
folder and filters the link was taken for (a changed config means a fresh enumeration) and the
ids of files whose download failed transiently, which the next sync fetches again by id (a delta
link would otherwise never list them again until they change).
"""

from __future__ import annotations

import asyncio
import fnmatch
import hashlib
import json
import mimetypes
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import httpx
from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

from ragaas.security.egress import EgressPolicy
from ragaas.sources.connectors.base import (
    BuildContext,
    ConnectorError,
    ConnectorType,
    Deleted,
    Event,
    ItemError,
    SourceItem,
    SyncState,
)

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
# Only what the connector reads: smaller pages, and a feed that fits in memory for big drives.
SELECT = (
    "id,name,eTag,cTag,size,webUrl,lastModifiedDateTime,lastModifiedBy,parentReference,"
    "file,folder,root,deleted,package"
)
THROTTLED = frozenset({429, 503})
MAX_ATTEMPTS = 5  # per request, when Graph throttles (429/503)
RETRY_AFTER_CAP = 30.0  # seconds; a longer Retry-After is cut to this
TOKEN_MARGIN = 120.0  # seconds before expiry when the access token is renewed
MAX_RETRY_IDS = 1000  # failed downloads remembered for the next sync
CURSOR_VERSION = 1
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


class SharePointConfig(BaseModel):
    tenant_id: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9.-]*$",
        description="Microsoft Entra tenant: its GUID or a domain like contoso.onmicrosoft.com.",
    )
    client_id: str = Field(min_length=1, description="Application (client) id of the app.")
    client_secret: SecretStr = Field(description="A client secret (its value) of the app.")
    drive_id: str | None = Field(
        default=None, description="The document library's drive id (give this or site_id)."
    )
    site_id: str | None = Field(
        default=None,
        description="A site id (host,site-guid,web-guid): its default document library is read.",
    )
    folder: str = Field(
        default="", description="Only files under this folder of the library, e.g. 'Policies/HR'."
    )
    pattern: str = Field(
        default="*",
        description="fnmatch pattern on the path below folder, case-insensitive ('*.pdf').",
    )
    max_bytes: int = Field(default=50_000_000, gt=0, description="Larger files are skipped.")
    graph_base_url: str = Field(
        default="https://graph.microsoft.com/v1.0",
        description="Microsoft Graph endpoint (another for a national cloud).",
    )
    login_base_url: str = Field(
        default="https://login.microsoftonline.com",
        description="Microsoft Entra sign-in endpoint (another for a national cloud).",
    )

    @field_validator("graph_base_url", "login_base_url")
    @classmethod
    def _https_url(cls, value: str) -> str:
        """Credentials and tokens travel to these URLs: plain http only on this machine."""
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL")
        if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
            raise ValueError("must use https (plain http only for a loopback address)")
        return value.rstrip("/")

    @field_validator("folder")
    @classmethod
    def _clean_folder(cls, value: str) -> str:
        return "/".join(part for part in value.split("/") if part)

    @model_validator(mode="after")
    def _one_drive(self) -> SharePointConfig:
        if bool(self.drive_id) == bool(self.site_id):
            raise ValueError("give exactly one of drive_id or site_id")
        return self


class _GraphError(Exception):
    """An HTTP error answer from Graph or the sign-in service, summed up in one line."""

    def __init__(self, status: int, summary: str, location: str | None = None) -> None:
        super().__init__(summary)
        self.status = status
        self.summary = summary
        self.location = location


@dataclass
class _Cursor:
    """What a sync leaves for the next one (stored as JSON in ``SyncState.next_cursor``)."""

    delta_link: str
    scope: str
    retry: list[str] = field(default_factory=list)

    def dump(self) -> str:
        body = {"v": CURSOR_VERSION, "delta_link": self.delta_link, "scope": self.scope}
        if self.retry:
            body["retry"] = self.retry[:MAX_RETRY_IDS]
        return json.dumps(body)

    @classmethod
    def load(cls, raw: str | None, scope: str) -> _Cursor | None:
        """The previous cursor if it is for this very scope; None means a full enumeration."""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return None
        if not isinstance(body, dict) or body.get("v") != CURSOR_VERSION:
            return None
        if body.get("scope") != scope or not isinstance(body.get("delta_link"), str):
            return None
        retry = [str(i) for i in body.get("retry", []) if isinstance(i, str)]
        return cls(body["delta_link"], scope, retry)


class _Graph:
    """An authenticated Graph session: client-credentials token, throttling retries, one-line
    errors that never contain the client secret."""

    def __init__(self, config: SharePointConfig, http: httpx.AsyncClient) -> None:
        self.config = config
        self.http = http
        self.origin = _origin(config.graph_base_url)
        self._token: str | None = None
        self._expires_at = 0.0

    def redact(self, text: str) -> str:
        secret = self.config.client_secret.get_secret_value()
        return text.replace(secret, "********") if secret else text

    async def get_json(self, url: str) -> dict[str, Any]:
        self._check_origin(url)
        response = await self._send(url)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise _GraphError(response.status_code, "Graph answered with something not JSON")
        return body

    async def download(self, url: str, max_bytes: int) -> bytes:
        """The file's bytes; ``/content`` answers 302 to a pre-authenticated URL (followed;
        httpx drops the Authorization header when the redirect leaves Graph's origin)."""
        for attempt in range(MAX_ATTEMPTS):
            headers = {"Authorization": f"Bearer {await self._access_token()}"}
            async with self.http.stream("GET", url, headers=headers, follow_redirects=True) as r:
                if r.status_code in THROTTLED and attempt < MAX_ATTEMPTS - 1:
                    await asyncio.sleep(_retry_after(r, attempt))
                    continue
                if r.status_code != 200:
                    await r.aread()
                    raise _GraphError(r.status_code, _graph_summary(r))
                chunks: list[bytes] = []
                size = 0
                async for chunk in r.aiter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise _GraphError(413, f"over max_bytes ({max_bytes})")
                    chunks.append(chunk)
                return b"".join(chunks)
        raise AssertionError("unreachable")  # the last attempt always returns or raises

    async def _send(self, url: str) -> httpx.Response:
        for attempt in range(MAX_ATTEMPTS):
            headers = {"Authorization": f"Bearer {await self._access_token()}"}
            response = await self.http.get(url, headers=headers)
            if response.status_code in THROTTLED and attempt < MAX_ATTEMPTS - 1:
                await asyncio.sleep(_retry_after(response, attempt))
                continue
            if response.status_code != 200:
                location = response.headers.get("Location")
                raise _GraphError(response.status_code, _graph_summary(response), location)
            return response
        raise AssertionError("unreachable")

    async def _access_token(self) -> str:
        if self._token is None or time.monotonic() > self._expires_at - TOKEN_MARGIN:
            self._token, lifetime = await self._request_token()
            self._expires_at = time.monotonic() + lifetime
        return self._token

    async def _request_token(self) -> tuple[str, float]:
        c = self.config
        url = f"{c.login_base_url}/{quote(c.tenant_id)}/oauth2/v2.0/token"
        form = {
            "client_id": c.client_id,
            "client_secret": c.client_secret.get_secret_value(),
            "scope": GRAPH_SCOPE,
            "grant_type": "client_credentials",
        }
        try:
            response = await self.http.post(url, data=form)
        except httpx.HTTPError as exc:
            raise ConnectorError(
                self.redact(f"cannot reach the sign-in service {c.login_base_url}: {_why(exc)}")
            ) from None
        body = _json_or_none(response)
        token = body.get("access_token") if body else None
        if response.status_code != 200 or not isinstance(token, str):
            raise ConnectorError(self.redact(_sign_in_failure(c, response.status_code, body)))
        try:
            lifetime = float(body.get("expires_in", 3600)) if body else 3600.0
        except (TypeError, ValueError):
            lifetime = 3600.0
        return token, lifetime

    def _check_origin(self, url: str) -> None:
        # The bearer token goes only to the configured Graph endpoint, whatever a link says.
        if _origin(url) != self.origin:
            raise ConnectorError(f"Graph returned a link outside {self.config.graph_base_url}")


class _Paths:
    """Paths below the drive root, rebuilt from folder ids (delta gives no paths)."""

    def __init__(self, graph: _Graph, drive_url: str, feed: dict[str, dict[str, Any]]) -> None:
        self.graph = graph
        self.drive_url = drive_url
        self.folders = {i: e for i, e in feed.items() if _is_container(e)}
        self.cache: dict[str, str] = {}

    async def of_file(self, item: dict[str, Any]) -> str:
        ref = item.get("parentReference") or {}
        below = _path_below_root(ref.get("path"))
        if below is None:
            parent_id = ref.get("id")
            if not isinstance(parent_id, str):
                raise _GraphError(0, "the item has no parent reference")
            below = await self.of_folder(parent_id)
        return _join(below, str(item.get("name", "")))

    async def of_folder(self, folder_id: str, depth: int = 0) -> str:
        if folder_id in self.cache:
            return self.cache[folder_id]
        if depth > 256:
            raise _GraphError(0, "the folder hierarchy is too deep")
        entry = self.folders.get(folder_id)
        if entry is None:
            entry = await self.graph.get_json(
                f"{self.drive_url}/items/{quote(folder_id)}?$select=id,name,root,parentReference"
            )
        if "root" in entry:
            path = ""
        else:
            ref = entry.get("parentReference") or {}
            parent = _path_below_root(ref.get("path"))
            if parent is None:
                parent = await self.of_folder(str(ref.get("id")), depth + 1)
            path = _join(parent, str(entry.get("name", "")))
        self.cache[folder_id] = path
        return path


class SharePointConnector:
    incremental = True

    def __init__(self, config: SharePointConfig, egress: EgressPolicy | None = None) -> None:
        self.config = config
        self.egress = egress or EgressPolicy()  # SSRF guard: every connection is checked
        self.folder = config.folder.casefold()
        self.pattern = config.pattern.casefold()
        scope = [config.graph_base_url, config.drive_id, config.site_id, config.folder]
        scope += [config.pattern, str(config.max_bytes)]
        self.scope = hashlib.sha256("\n".join(str(s) for s in scope).encode()).hexdigest()[:16]

    async def items(self, state: SyncState) -> AsyncIterator[Event]:
        timeout = httpx.Timeout(30.0, read=120.0)
        async with httpx.AsyncClient(
            timeout=timeout,
            headers={"User-Agent": "ragaas"},
            transport=self.egress.transport(),  # pinned, checked addresses, every redirect hop
        ) as http:
            graph = _Graph(self.config, http)
            try:
                async for event in self._sync(graph, state):
                    yield event
            except _GraphError as exc:
                raise ConnectorError(graph.redact(_listing_failure(exc))) from None
            except httpx.HTTPError as exc:
                where = self.config.graph_base_url
                raise ConnectorError(graph.redact(f"cannot reach {where}: {_why(exc)}")) from None

    async def _sync(self, graph: _Graph, state: SyncState) -> AsyncIterator[Event]:
        drive_id = quote(await self._drive_id(graph), safe="!")
        drive_url = f"{self.config.graph_base_url}/drives/{drive_id}"
        fresh = f"{drive_url}/root/delta?$select={SELECT}"
        cursor = _Cursor.load(state.cursor, self.scope)
        full = cursor is None
        try:
            feed, delta_link = await _collect(graph, cursor.delta_link if cursor else fresh)
        except _GraphError as exc:
            if exc.status != 410:
                raise
            # The delta token expired: Graph's Location (or the root) starts a new enumeration.
            full = True
            feed, delta_link = await _collect(graph, exc.location or fresh)
        if cursor and not full:
            await self._add_retries(graph, drive_url, feed, cursor.retry)

        paths = _Paths(graph, drive_url, feed)
        seen: set[str] = set()
        gone: set[str] = set()
        retry: list[str] = []
        for item_id, item in feed.items():
            if "deleted" in item:  # checked first: a deleted file may still carry its file facet
                gone.add(item_id)
                continue
            if "file" not in item:  # the root, folders, OneNote packages
                continue
            try:
                path = await paths.of_file(item)
            except _GraphError as exc:
                if exc.status in (401, 403):
                    raise
                yield ItemError(item_id, f"cannot resolve its folder: {exc.summary}")
                retry.append(item_id)
                seen.add(item_id)
                continue
            if not self._in_scope(path):
                gone.add(item_id)  # moved or renamed out of the folder or pattern
                continue
            seen.add(item_id)
            event, transient = await self._fetch(graph, drive_url, item, path)
            if transient:
                retry.append(item_id)
            yield event
        if full:
            gone |= state.known_ids - seen
        for item_id in sorted(gone & state.known_ids):
            yield Deleted(item_id)
        state.next_cursor = _Cursor(delta_link, self.scope, retry).dump()

    async def _drive_id(self, graph: _Graph) -> str:
        if self.config.drive_id:
            return self.config.drive_id
        site = quote(str(self.config.site_id), safe=",:")
        drive = await graph.get_json(f"{self.config.graph_base_url}/sites/{site}/drive?$select=id")
        drive_id = drive.get("id")
        if not isinstance(drive_id, str):
            raise ConnectorError(f"site {self.config.site_id!r} has no default document library")
        return drive_id

    async def _add_retries(
        self, graph: _Graph, drive_url: str, feed: dict[str, dict[str, Any]], ids: list[str]
    ) -> None:
        """Files whose download failed last time are fetched again by id."""
        for item_id in ids:
            if item_id in feed:
                continue
            try:
                feed[item_id] = await graph.get_json(
                    f"{drive_url}/items/{quote(item_id)}?$select={SELECT}"
                )
            except _GraphError as exc:
                if exc.status != 404:
                    raise
                feed[item_id] = {"id": item_id, "deleted": {"state": "deleted"}}

    def _in_scope(self, path: str) -> bool:
        folded = path.casefold()
        if self.folder:
            if not folded.startswith(self.folder + "/"):
                return False
            folded = folded[len(self.folder) + 1 :]
        return fnmatch.fnmatchcase(folded, self.pattern)

    async def _fetch(
        self, graph: _Graph, drive_url: str, item: dict[str, Any], path: str
    ) -> tuple[SourceItem | ItemError, bool]:
        """The file as a SourceItem, or an ItemError and whether to try it again next sync."""
        item_id = str(item["id"])
        size = item.get("size")
        if isinstance(size, int) and size > self.config.max_bytes:
            return ItemError(item_id, f"{size} bytes, over max_bytes"), False
        try:
            data = await graph.download(
                f"{drive_url}/items/{quote(item_id)}/content", self.config.max_bytes
            )
        except httpx.TimeoutException:
            return ItemError(item_id, "download timed out"), True
        except _GraphError as exc:
            if exc.status == 401:
                raise
            if exc.status == 413:
                return ItemError(item_id, f"{exc.summary}"), False
            return ItemError(item_id, f"download failed: {exc.summary}"), exc.status != 404
        return self._item(item, path, data), False

    def _item(self, item: dict[str, Any], path: str, data: bytes) -> SourceItem:
        name = str(item.get("name") or PurePosixPath(path).name)
        mime = (item.get("file") or {}).get("mimeType") or mimetypes.guess_type(name)[0]
        metadata: dict[str, Any] = {"path": path}
        for key, source in (("etag", "eTag"), ("ctag", "cTag"), ("size", "size")):
            if item.get(source) is not None:
                metadata[key] = item[source]
        editor = ((item.get("lastModifiedBy") or {}).get("user") or {}).get("displayName")
        if editor:
            metadata["last_modified_by"] = editor
        return SourceItem(
            external_id=str(item["id"]),
            title=PurePosixPath(name).stem or name,
            content=data,
            content_type=mime or "application/octet-stream",
            url=item.get("webUrl"),
            filename=name,
            metadata=metadata,
            modified_at=_datetime(item.get("lastModifiedDateTime")),
        )


async def _collect(graph: _Graph, url: str) -> tuple[dict[str, dict[str, Any]], str]:
    """Every page of a delta round, by item id (the last occurrence wins, as Graph advises),
    and the round's ``@odata.deltaLink``."""
    feed: dict[str, dict[str, Any]] = {}
    next_url: str | None = url
    while next_url:
        page = await graph.get_json(next_url)
        for item in page.get("value") or []:
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                feed.pop(item["id"], None)  # keep the feed in the order of last occurrence
                feed[item["id"]] = item
        delta_link = page.get("@odata.deltaLink")
        if isinstance(delta_link, str):
            return feed, delta_link
        link = page.get("@odata.nextLink")
        next_url = link if isinstance(link, str) else None
    raise _GraphError(0, "a delta page had neither @odata.nextLink nor @odata.deltaLink")


def _is_container(item: dict[str, Any]) -> bool:
    return ("folder" in item or "root" in item) and "deleted" not in item


def _path_below_root(path: Any) -> str | None:
    """'/drives/{id}/root:/A%20B/C' → 'A B/C'; None when there is no usable path."""
    if not isinstance(path, str) or "root:" not in path:
        return None
    return "/".join(p for p in unquote(path.split("root:", 1)[1]).split("/") if p)


def _join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


def _retry_after(response: httpx.Response, attempt: int) -> float:
    try:
        seconds = float(response.headers.get("Retry-After", ""))
    except ValueError:
        seconds = float(2**attempt)
    return max(0.0, min(seconds, RETRY_AFTER_CAP))


def _json_or_none(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _graph_summary(response: httpx.Response) -> str:
    """'403 accessDenied: Access denied' from Graph's ``{"error": {"code", "message"}}``."""
    body = _json_or_none(response) or {}
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    code = error.get("code") if isinstance(error, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    detail = ": ".join(str(x) for x in (code, message) if x) or response.reason_phrase
    return f"{response.status_code} {_first_line(detail)}"


def _sign_in_failure(config: SharePointConfig, status: int, body: dict[str, Any] | None) -> str:
    """Entra's answer (``error`` and the first line of the AADSTS ``error_description``)."""
    error = body.get("error") if body else None
    description = body.get("error_description") if body else None
    reason = ": ".join(_first_line(str(x)) for x in (error, description) if x) or f"HTTP {status}"
    return f"sign-in as app {config.client_id} in tenant {config.tenant_id} failed ({reason})"


def _listing_failure(exc: _GraphError) -> str:
    hints = {
        401: "the access token was refused",
        403: "the app lacks permission (grant it Sites.Read.All or Files.Read.All)",
        404: "the drive or site was not found",
    }
    hint = hints.get(exc.status)
    return f"Microsoft Graph: {exc.summary}" + (f" — {hint}" if hint else "")


def _why(exc: httpx.HTTPError) -> str:
    text = str(exc).strip()
    return _first_line(text) if text else type(exc).__name__


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0].strip() if lines else ""


def _datetime(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _build(config: SharePointConfig, ctx: BuildContext) -> SharePointConnector:
    ctx.egress.check_static(config.graph_base_url, "graph_base_url")  # a 422 on create
    ctx.egress.check_static(config.login_base_url, "login_base_url")
    return SharePointConnector(config, ctx.egress)


CONNECTOR_TYPE = ConnectorType(
    "sharepoint", SharePointConfig, _build, "files of a SharePoint document library (Graph delta)"
)
