"""A local stand-in for Microsoft Entra's token endpoint and the Graph drive endpoints a
``sharepoint`` source uses, answering with the shapes Microsoft documents.

It keeps a mutable document library (a drive of folders and files with ids, eTags and content)
and a change log: every change gets a sequence number, a delta token encodes a position in that
log, and a delta from a token returns the latest state of exactly the items changed after it
(plus their ancestor folders, as Graph does unless asked not to). Like Graph's, delta items carry
no ``parentReference.path`` and no ``cTag``; deleted items keep their ``file`` facet and lose their
name. Tokens older than ``expire_tokens()`` answer ``410 Gone`` with a ``Location`` that restarts
the enumeration. ``throttle(n)`` answers the next n Graph calls with 429 and ``Retry-After``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

GRAPH = "/v1.0"
SITE_HOST = "https://contoso.sharepoint.com/sites/handbook/Shared%20Documents"


def _item_id() -> str:
    # SharePoint drive item ids look like '01BYE5RZ6QN3ZWBTUFOFD3GSPGOHDJD36K'.
    return "01" + base64.b32encode(secrets.token_bytes(20)).decode()[:32]


@dataclass
class FakeItem:
    id: str
    name: str
    parent_id: str | None
    folder: bool
    content: bytes = b""
    mime: str = ""
    version: int = 1
    seq: int = 0
    deleted: bool = False
    modified: datetime = field(default_factory=lambda: datetime.now(UTC))
    modified_by: str = "Megan Bowen"


class FakeDrive:
    """The library's state; tests change it from their own thread, the server reads it."""

    def __init__(
        self,
        *,
        tenant_id: str = "contoso.onmicrosoft.com",
        client_id: str | None = None,
        client_secret: str | None = None,
        site_id: str = "contoso.sharepoint.com,2c712604-1370-44e7-a1f5-426573fda80a,"
        "2d2244c3-251a-49ea-93a8-39e1c3a060fe",
        page_size: int = 2,
    ) -> None:
        self.tenant_id = tenant_id
        self.client_id = client_id or str(uuid.uuid4())
        self.client_secret = client_secret or "Q~" + secrets.token_urlsafe(30)
        self.drive_id = "b!" + base64.urlsafe_b64encode(secrets.token_bytes(30)).decode()
        self.site_id = site_id
        self.page_size = page_size
        self.include_ancestors = True  # what Graph does without the deltaExcludeParent header
        self.lock = threading.RLock()
        self.seq = 0
        self.min_seq = 0  # tokens for positions before this answer 410
        self.throttle_left = 0
        self.fail_content: dict[str, int] = {}  # item id -> how many /content calls answer 500
        self.tokens: set[str] = set()
        self.key = secrets.token_bytes(16)
        self.log: list[str] = []  # "METHOD path status" of every request
        self.downloads: list[str] = []  # names of the files whose bytes were served
        self.root = FakeItem(_item_id(), "root", None, folder=True)
        self.items: dict[str, FakeItem] = {self.root.id: self.root}

    # --- changing the library (each change is one entry of the change log) ---

    def _touch(self, item: FakeItem) -> None:
        self.seq += 1
        item.seq = self.seq
        item.modified = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=self.seq)

    def folder(self, path: str) -> FakeItem:
        """The folder at ``path`` ('' is the root), created with its parents if needed."""
        with self.lock:
            current = self.root
            for name in [p for p in path.split("/") if p]:
                found = next(
                    (
                        i
                        for i in self.items.values()
                        if i.parent_id == current.id and i.name == name and not i.deleted
                    ),
                    None,
                )
                if found is None:
                    found = FakeItem(_item_id(), name, current.id, folder=True)
                    self.items[found.id] = found
                    self._touch(found)
                current = found
            return current

    def add_file(self, path: str, content: str | bytes, mime: str = "text/plain") -> str:
        with self.lock:
            folder, _, name = path.rpartition("/")
            parent = self.folder(folder)
            data = content.encode() if isinstance(content, str) else content
            item = FakeItem(_item_id(), name, parent.id, folder=False, content=data, mime=mime)
            self.items[item.id] = item
            self._touch(item)
            return item.id

    def update_file(self, item_id: str, content: str | bytes) -> None:
        with self.lock:
            item = self.items[item_id]
            item.content = content.encode() if isinstance(content, str) else content
            item.version += 1
            self._touch(item)

    def move(self, item_id: str, folder: str) -> None:
        with self.lock:
            item = self.items[item_id]
            item.parent_id = self.folder(folder).id
            item.version += 1
            self._touch(item)

    def delete(self, item_id: str) -> None:
        """Delete an item; a folder's descendants are logged as deleted items of their own."""
        with self.lock:
            item = self.items[item_id]
            for child in [i for i in self.items.values() if i.parent_id == item_id]:
                if not child.deleted:
                    self.delete(child.id)
            item.deleted = True
            self._touch(item)

    def expire_tokens(self) -> None:
        """Delta tokens taken before the latest change now answer 410 Gone."""
        with self.lock:
            self.min_seq = self.seq

    def throttle(self, requests: int) -> None:
        with self.lock:
            self.throttle_left = requests

    def id_of(self, path: str) -> str:
        return next(i.id for i in self.items.values() if self.path(i) == path and not i.deleted)

    def path(self, item: FakeItem) -> str:
        parts: list[str] = []
        while item.parent_id is not None:
            parts.append(item.name)
            item = self.items[item.parent_id]
        return "/".join(reversed(parts))

    # --- driveItem JSON, as Graph shapes it ---

    def drive_item(self, item: FakeItem, *, in_delta: bool) -> dict[str, Any]:
        ref: dict[str, Any] = {"driveType": "documentLibrary", "driveId": self.drive_id}
        if item.parent_id is not None:
            ref["id"] = item.parent_id
            if not in_delta:  # delta never gives paths (folders renamed don't re-list children)
                parent = self.path(self.items[item.parent_id])
                ref["path"] = f"/drives/{self.drive_id}/root:" + (
                    "/" + quote(parent) if parent else ""
                )
        if item.deleted:
            gone: dict[str, Any] = {"id": item.id, "parentReference": ref}
            gone["deleted"] = {"state": "deleted"}
            gone["folder" if item.folder else "file"] = {}
            return gone
        body: dict[str, Any] = {
            "id": item.id,
            "name": item.name,
            "eTag": f'"{{{item.id[2:10]}-0000-0000-0000-{item.id[10:22]}}},{item.version}"',
            "createdDateTime": "2026-02-01T08:00:00Z",
            "lastModifiedDateTime": item.modified.isoformat().replace("+00:00", "Z"),
            "lastModifiedBy": {
                "user": {"email": "MeganB@contoso.com", "displayName": item.modified_by}
            },
            "webUrl": f"{SITE_HOST}/{quote(self.path(item))}" if item.parent_id else SITE_HOST,
            "parentReference": ref,
            "size": len(item.content),
        }
        if not in_delta:  # Graph omits cTag from delta on OneDrive for Business and SharePoint
            body["cTag"] = f'"c:{{{item.id[2:10]}}},{item.version}"'
        if item.parent_id is None:
            body["root"] = {}
        if item.folder:
            children = [i for i in self.items.values() if i.parent_id == item.id and not i.deleted]
            body["folder"] = {"childCount": len(children)}
        else:
            # Not the real QuickXorHash algorithm; only its size (20 bytes, base64).
            digest = base64.b64encode(hashlib.blake2b(item.content, digest_size=20).digest())
            body["file"] = {"mimeType": item.mime, "hashes": {"quickXorHash": digest.decode()}}
        return body

    # --- delta ---

    def delta_items(self, since: int | None, upto: int) -> list[FakeItem]:
        """A full enumeration (since None), or the items changed in (since, upto] and their
        ancestors; parents come before children."""
        if since is None:
            chosen = {i.id for i in self.items.values() if not i.deleted}
        else:
            chosen = {i.id for i in self.items.values() if since < i.seq <= upto}
            if self.include_ancestors:
                for item_id in list(chosen):
                    item = self.items[item_id]
                    while not item.deleted and item.parent_id is not None:
                        item = self.items[item.parent_id]
                        chosen.add(item.id)
        return sorted((self.items[i] for i in chosen), key=lambda i: (self._depth(i), i.seq))

    def _depth(self, item: FakeItem) -> int:
        depth = 0
        while item.parent_id is not None:
            item = self.items[item.parent_id]
            depth += 1
        return depth

    def sign(self, item: FakeItem) -> str:
        message = f"{item.id}:{item.version}".encode()
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()[:32]


def _token(body: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")


def _untoken(token: str) -> dict[str, Any] | None:
    try:
        body = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _graph_error(status: int, code: str, message: str, **headers: str) -> JSONResponse:
    inner = {"date": datetime.now(UTC).isoformat(), "request-id": str(uuid.uuid4())}
    body = {"error": {"code": code, "message": message, "innerError": inner}}
    return JSONResponse(body, status_code=status, headers=headers)


def _aad_error(status: int, error: str, code: int, text: str) -> JSONResponse:
    trace, correlation = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    description = (
        f"AADSTS{code}: {text}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}\r\n"
        f"Timestamp: {now}"
    )
    body = {
        "error": error,
        "error_description": description,
        "error_codes": [code],
        "timestamp": now,
        "trace_id": str(trace),
        "correlation_id": str(correlation),
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }
    return JSONResponse(body, status_code=status)


def _select(body: dict[str, Any], select: str | None) -> dict[str, Any]:
    if not select:
        return body
    wanted = set(select.split(",")) | {"id"}
    return {k: v for k, v in body.items() if k in wanted or k.startswith("@")}


def create_app(drive: FakeDrive) -> FastAPI:
    app = FastAPI()

    @app.middleware("http")
    async def gate(request: Request, call_next: Any) -> Response:
        """Throttling, then bearer-token checks for Graph calls; every request is logged."""
        response: Response
        is_graph = request.url.path.startswith(GRAPH)
        with drive.lock:
            throttled = is_graph and drive.throttle_left > 0
            if throttled:
                drive.throttle_left -= 1
        authorization = request.headers.get("Authorization", "")
        if throttled:
            response = _graph_error(
                429,
                "activityLimitReached",
                "The request has been throttled",
                **{"Retry-After": "1"},
            )
        elif is_graph and not authorization.startswith("Bearer "):
            response = _graph_error(401, "InvalidAuthenticationToken", "Access token is empty.")
        elif is_graph and authorization.removeprefix("Bearer ") not in drive.tokens:
            response = _graph_error(
                401, "InvalidAuthenticationToken", "IDX14100: JWT is not well formed."
            )
        else:
            response = await call_next(request)
        with drive.lock:
            drive.log.append(f"{request.method} {request.url.path} {response.status_code}")
        return response

    @app.post("/{tenant}/oauth2/v2.0/token")
    def token(
        tenant: str,
        client_id: str = Form(""),
        client_secret: str = Form(""),
        scope: str = Form(""),
        grant_type: str = Form(""),
    ) -> Response:
        if tenant != drive.tenant_id:
            return _aad_error(400, "invalid_tenant", 90002, f"Tenant '{tenant}' not found.")
        if grant_type != "client_credentials":
            return _aad_error(
                400, "unsupported_grant_type", 70003, "The grant type is unsupported."
            )
        if client_id != drive.client_id:
            return _aad_error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory.",
            )
        if client_secret != drive.client_secret:
            return _aad_error(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is "
                "the client secret value, not the client secret ID, for a secret added to app "
                f"'{client_id}'.",
            )
        if scope != "https://graph.microsoft.com/.default":
            return _aad_error(
                400, "invalid_scope", 1002012, f"The provided value for scope {scope} is not valid."
            )
        access_token = "eyJ0eXAiOiJKV1Qi." + secrets.token_urlsafe(32)
        with drive.lock:
            drive.tokens.add(access_token)
        body = {
            "token_type": "Bearer",
            "expires_in": 3599,
            "ext_expires_in": 3599,
            "access_token": access_token,
        }
        return JSONResponse(body)

    @app.get(GRAPH + "/sites/{site_id}/drive")
    def site_drive(site_id: str, request: Request) -> Response:
        if site_id != drive.site_id:
            return _graph_error(404, "itemNotFound", "Requested site could not be found")
        body = {
            "id": drive.drive_id,
            "driveType": "documentLibrary",
            "name": "Documents",
            "webUrl": SITE_HOST,
        }
        return JSONResponse(_select(body, request.query_params.get("$select")))

    @app.get(GRAPH + "/drives/{drive_id}/root/delta")
    def delta(drive_id: str, request: Request) -> Response:
        if drive_id != drive.drive_id:
            return _graph_error(404, "itemNotFound", "The resource could not be found.")
        select = request.query_params.get("$select")
        base = f"{str(request.base_url).rstrip('/')}{GRAPH}/drives/{drive_id}/root/delta"
        suffix = f"&$select={select}" if select else ""
        raw = request.query_params.get("token")
        with drive.lock:
            if raw is None:
                state: dict[str, Any] = {"since": None, "upto": drive.seq, "skip": 0}
            else:
                parsed = _untoken(raw)
                if parsed is None:
                    return _graph_error(400, "invalidRequest", "Invalid token.")
                state = parsed
            since = state["since"]
            if since is not None and since < drive.min_seq:
                restart = f"{base}?token={_token({'since': None, 'upto': drive.seq, 'skip': 0})}"
                return _graph_error(
                    410,
                    "resyncRequired",
                    "Resync required. Replace any local items with the server's version "
                    "(including deletes) if you're sure that the service was up to date with your "
                    "local changes when you last sync'd. Upload any local changes that the server "
                    "doesn't know about.",
                    Location=restart + suffix,
                )
            upto, skip = state["upto"], state["skip"]
            if since is not None and skip == 0:
                upto = drive.seq  # an incremental round reads up to now
            items = drive.delta_items(since, upto)
            page = items[skip : skip + drive.page_size]
            body: dict[str, Any] = {
                "@odata.context": f"{GRAPH}/$metadata#Collection(driveItem)",
                "value": [_select(drive.drive_item(i, in_delta=True), select) for i in page],
            }
            if skip + drive.page_size < len(items):
                following = {"since": since, "upto": upto, "skip": skip + drive.page_size}
                body["@odata.nextLink"] = f"{base}?token={_token(following)}{suffix}"
            else:
                finished = {"since": upto, "upto": upto, "skip": 0}
                body["@odata.deltaLink"] = f"{base}?token={_token(finished)}{suffix}"
        return JSONResponse(body)

    @app.get(GRAPH + "/drives/{drive_id}/items/{item_id}")
    def get_item(drive_id: str, item_id: str, request: Request) -> Response:
        with drive.lock:
            item = drive.items.get(item_id)
            if drive_id != drive.drive_id or item is None or item.deleted:
                return _graph_error(404, "itemNotFound", "The resource could not be found.")
            body = drive.drive_item(item, in_delta=False)
        return JSONResponse(_select(body, request.query_params.get("$select")))

    @app.get(GRAPH + "/drives/{drive_id}/items/{item_id}/content")
    def content(drive_id: str, item_id: str, request: Request) -> Response:
        with drive.lock:
            item = drive.items.get(item_id)
            if drive_id != drive.drive_id or item is None or item.deleted or item.folder:
                return _graph_error(404, "itemNotFound", "The resource could not be found.")
            if drive.fail_content.get(item_id, 0) > 0:
                drive.fail_content[item_id] -= 1
                return _graph_error(500, "generalException", "An unspecified error has occurred.")
            tempauth = drive.sign(item)
        # The pre-authenticated download URL of SharePoint (no bearer token needed there).
        url = (
            f"{str(request.base_url).rstrip('/')}/sites/handbook/_layouts/15/download.aspx"
            f"?UniqueId={item_id}&Translate=false&tempauth={tempauth}&ApiVersion=2.0"
        )
        return RedirectResponse(url, status_code=302)

    @app.get("/sites/handbook/_layouts/15/download.aspx")
    def download(UniqueId: str, tempauth: str) -> Response:  # noqa: N803 (SharePoint's names)
        with drive.lock:
            item = drive.items.get(UniqueId)
            if item is None or item.deleted or not hmac.compare_digest(tempauth, drive.sign(item)):
                return Response(status_code=401)
            drive.downloads.append(drive.path(item))
            return Response(item.content, media_type="application/octet-stream")

    return app
