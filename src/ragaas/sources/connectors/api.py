"""``api`` sources: the records of an HTTP JSON API, one document per record.

A full lister: every sync walks all the pages and yields every record, so the sync engine deletes
the documents of records the API no longer lists — and, because a listing that fails half-way
raises ConnectorError, a flaky API deletes nothing. Fields are picked from records with small
dotted paths ("data.items", "author.name", "tags.0") so no query language is needed.

Secrets (token, password) are top-level ``SecretStr`` fields because only those are sealed at rest
and masked by the API; the auth scheme is therefore a flat ``auth`` choice plus those fields.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Annotated, Any, Literal

import httpx
from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ragaas.security.egress import EgressPolicy
from ragaas.sources.connectors.base import (
    BuildContext,
    ConnectorError,
    ConnectorType,
    Event,
    ItemError,
    SourceItem,
    SyncState,
)

# --- dotted paths -------------------------------------------------------------------------------


class _Missing:
    """Marks a path that leads nowhere (distinct from a JSON null)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def split_path(path: str) -> tuple[str, ...]:
    """``"a.b.0"`` → ``("a", "b", "0")``; ``""`` is the document itself. Raises ValueError."""
    if path == "":
        return ()
    parts = tuple(path.split("."))
    if any(p.strip() == "" for p in parts):
        raise ValueError(f"path {path!r} has an empty part (write it like 'data.items.0.id')")
    return parts


def resolve(data: Any, path: str | tuple[str, ...]) -> Any:
    """The value at a dotted path: keys into objects, integer parts index lists (negative from
    the end); MISSING when the path leads nowhere."""
    for part in split_path(path) if isinstance(path, str) else path:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and re.fullmatch(r"-?\d+", part):
            index = int(part)
            if not -len(data) <= index < len(data):
                return MISSING
            data = data[index]
        else:
            return MISSING
    return data


def _checked_path(path: str) -> str:
    split_path(path)
    return path


def _checked_nonempty_path(path: str) -> str:
    if path == "":
        raise ValueError("path must not be empty")
    return _checked_path(path)


DottedPath = Annotated[str, AfterValidator(_checked_nonempty_path)]
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


# --- rendering ----------------------------------------------------------------------------------


def _scalar(value: Any) -> str | None:
    """Text of a JSON scalar; None for objects and lists."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float):
        return str(value)
    if value is None or value is MISSING:
        return ""
    return None


def _lines(value: Any) -> list[str]:
    """Readable lines of any JSON value: ``key: value`` for objects, ``- item`` for lists,
    nested values indented — text a person (and the chunker) can read, unlike raw JSON."""
    text = _scalar(value)
    if text is not None:
        return text.splitlines() if text else []
    out: list[str] = []
    if isinstance(value, dict):
        for key, inner in value.items():
            sub = _lines(inner)
            if len(sub) == 1 and _scalar(inner) is not None:
                out.append(f"{key}: {sub[0]}")
            elif sub:
                out += [f"{key}:", *(f"  {line}".rstrip() for line in sub)]
    else:
        for inner in value:
            if sub := _lines(inner):
                out += [f"- {sub[0]}", *(f"  {line}".rstrip() for line in sub[1:])]
    return out


def render(value: Any) -> str:
    """A record's value as text (strings as they are, structures line by line)."""
    return "\n".join(_lines(value)).strip()


# --- config -------------------------------------------------------------------------------------


class NoPagination(BaseModel):
    type: Literal["none"] = "none"


class PagePagination(BaseModel):
    type: Literal["page"]
    param: str = Field(default="page", min_length=1, description="Query parameter of the page.")
    start: int = Field(default=1, description="Number of the first page.")
    size_param: str | None = Field(default=None, description="Page-size parameter, if any.")
    size: int | None = Field(default=None, gt=0, description="Value sent as size_param.")

    @model_validator(mode="after")
    def _size_pair(self) -> PagePagination:
        if (self.size_param is None) != (self.size is None):
            raise ValueError("size_param and size go together")
        return self


class OffsetPagination(BaseModel):
    type: Literal["offset"]
    offset_param: str = Field(default="offset", min_length=1)
    limit_param: str = Field(default="limit", min_length=1)
    limit: int = Field(default=100, gt=0, description="Records asked for per request.")


class CursorPagination(BaseModel):
    type: Literal["cursor"]
    cursor_path: DottedPath = Field(
        description="Where the next cursor is in a response, 'meta.next'."
    )
    cursor_param: str = Field(default="cursor", min_length=1, description="Sent as this param.")


class LinkPagination(BaseModel):
    type: Literal["link"]


Pagination = Annotated[
    NoPagination | PagePagination | OffsetPagination | CursorPagination | LinkPagination,
    Field(discriminator="type"),
]
Scalar = str | int | float | bool


class ApiConfig(BaseModel):
    url: str = Field(description="http(s) URL of the first page; no credentials in it.")
    method: Literal["GET", "POST"] = "GET"
    body: dict[str, Any] | list[Any] | None = Field(default=None, description="JSON, POST only.")
    headers: dict[str, str] = Field(default_factory=dict, description="Not secret: shown as is.")
    params: dict[str, Scalar] = Field(default_factory=dict, description="Query parameters.")
    auth: Literal["none", "bearer", "basic", "header", "query"] = "none"
    token: SecretStr | None = Field(
        default=None,
        validate_default=True,
        description="Bearer token, or the value of the auth header/query parameter.",
    )
    username: str | None = Field(
        default=None, validate_default=True, description="For auth 'basic'."
    )
    password: SecretStr | None = Field(
        default=None, validate_default=True, description="For auth 'basic'."
    )
    auth_name: str | None = Field(
        default=None,
        validate_default=True,
        description="Header (auth 'header') or query parameter (auth 'query') name.",
    )
    timeout: float = Field(default=30.0, gt=0, le=600, description="Seconds per request.")
    pagination: Pagination = Field(default_factory=NoPagination)
    pagination_in: Literal["query", "body"] = Field(
        default="query", description="Where page/offset/cursor parameters go ('body': POST)."
    )
    max_pages: int = Field(default=1000, ge=1, description="Requests per sync, at most.")
    records_path: Annotated[str, AfterValidator(_checked_path)] = Field(
        default="", description="Path to the list of records; '' = the response is the list."
    )
    id_path: DottedPath = Field(description="Path to a record's stable id.")
    content_paths: list[DottedPath] = Field(min_length=1, description="Joined by blank lines.")
    title_path: DottedPath | None = None
    url_path: str | None = Field(
        default=None, description="A path, or a template such as 'https://x/{id}' ({path}s)."
    )
    metadata_paths: dict[str, DottedPath] = Field(default_factory=dict)
    updated_at_path: DottedPath | None = None

    @field_validator("content_paths", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        try:
            url = httpx.URL(value)
        except httpx.InvalidURL as exc:
            raise ValueError(f"not a URL: {exc}") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError("must be an http:// or https:// URL")
        if url.userinfo:
            raise ValueError("must not hold credentials; use auth 'basic' (kept secret)")
        return value

    @field_validator("url_path")
    @classmethod
    def _path_or_template(cls, value: str | None) -> str | None:
        if value is None or "{" not in value:
            return None if value is None else _checked_nonempty_path(value)
        for placeholder in _PLACEHOLDER.findall(value):
            _checked_nonempty_path(placeholder)
        return value

    @field_validator("headers")
    @classmethod
    def _no_credentials_in_headers(cls, value: dict[str, str]) -> dict[str, str]:
        if any(name.lower() in ("authorization", "proxy-authorization") for name in value):
            raise ValueError("must not carry Authorization: use auth and token (kept secret)")
        return value

    @field_validator("token", "username", "password", "auth_name")
    @classmethod
    def _needed_by_auth(cls, value: Any, info: ValidationInfo) -> Any:
        """Name the missing field itself (a 422 points at it), not the config as a whole."""
        auth = info.data.get("auth")
        if value in (None, "") and info.field_name in _AUTH_NEEDS.get(str(auth), ()):
            raise ValueError(f"required when auth is {auth!r}")
        return value

    @field_validator("body")
    @classmethod
    def _post_only(cls, value: Any, info: ValidationInfo) -> Any:
        if value is not None and info.data.get("method") != "POST":
            raise ValueError("is sent with method POST only")
        return value

    @field_validator("pagination_in")
    @classmethod
    def _body_needs_post(cls, value: str, info: ValidationInfo) -> str:
        body_ok = info.data.get("method") == "POST" and not isinstance(info.data.get("body"), list)
        if value == "body" and not body_ok:
            raise ValueError("'body' needs method POST and a JSON object body")
        return value


_AUTH_NEEDS = {
    "bearer": ("token",),
    "basic": ("username", "password"),
    "header": ("auth_name", "token"),
    "query": ("auth_name", "token"),
}


# --- connector ----------------------------------------------------------------------------------


@dataclass
class _Request:
    url: str
    params: dict[str, Scalar] = field(default_factory=dict)  # pagination's, beside config.params
    body: Any = None
    page: int = 1  # which request of the sync this is (for max_pages and messages)

    def key(self) -> str:
        """What makes two requests the same page (to notice paging that goes in circles)."""
        return json.dumps([self.url, self.params, self.body], sort_keys=True, default=str)


def _where(url: httpx.URL | str) -> str:
    """A URL fit for an error message: no credentials, no query (it may carry an API key)."""
    u = httpx.URL(url)
    return f"{u.scheme}://{u.netloc.decode()}{u.path}"


class ApiConnector:
    incremental = False

    def __init__(self, config: ApiConfig, egress: EgressPolicy | None = None) -> None:
        self.config = config
        self.origin = _origin(httpx.URL(config.url))
        self.egress = egress or EgressPolicy()  # SSRF guard: every connection is checked

    async def items(self, state: SyncState) -> AsyncIterator[Event]:
        seen: set[str] = set()
        async with httpx.AsyncClient(
            timeout=self.config.timeout,
            follow_redirects=False,
            transport=self.egress.transport(),  # pinned, checked addresses (security/egress.py)
            **self._auth(),
        ) as client:
            async for page, records in self._pages(client):
                for index, record in enumerate(records, start=1):
                    item = self._item(record, f"record {index} of page {page}")
                    if isinstance(item, SourceItem) and item.external_id in seen:
                        yield ItemError(item.external_id, "listed twice; the first one was kept")
                        continue
                    seen.add(item.external_id)
                    yield item

    def _auth(self) -> dict[str, Any]:
        """httpx client arguments for the configured auth (sent on every request)."""
        c = self.config
        token = c.token.get_secret_value() if c.token else ""
        if c.auth == "bearer":
            return {"headers": {**c.headers, "Authorization": f"Bearer {token}"}}
        if c.auth == "basic" and c.username is not None and c.password is not None:
            return {"headers": c.headers, "auth": (c.username, c.password.get_secret_value())}
        if c.auth == "header" and c.auth_name:
            return {"headers": {**c.headers, c.auth_name: token}}
        return {"headers": c.headers}  # auth 'query' is added to each URL by _fetch

    async def _pages(self, client: httpx.AsyncClient) -> AsyncIterator[tuple[int, list[Any]]]:
        """Each page's records, following the pagination until it says there is no more."""
        request: _Request | None = self._first()
        followed = {request.key()} if request else set()
        while request is not None:
            if request.page > self.config.max_pages:
                raise ConnectorError(
                    f"{_where(self.config.url)} has more than max_pages "
                    f"({self.config.max_pages}) pages; raise max_pages or check the pagination"
                )
            response, payload = await self._fetch(client, request)
            records = self._records(payload, response.url)
            yield request.page, records
            request = self._next(request, response, payload, records)
            if request is not None:
                if (key := request.key()) in followed:
                    raise ConnectorError(
                        f"{_where(self.config.url)} pagination loops: it led back to a page "
                        "already read"
                    )
                followed.add(key)

    def _first(self) -> _Request:
        c, p = self.config, self.config.pagination
        first = _Request(url=c.url, body=c.body)
        if isinstance(p, PagePagination):
            sizes = {p.size_param: p.size} if p.size_param and p.size else {}
            return self._with(first, {p.param: p.start, **sizes})
        if isinstance(p, OffsetPagination):
            return self._with(first, {p.offset_param: 0, p.limit_param: p.limit})
        return first

    def _with(self, request: _Request, values: dict[str, Scalar]) -> _Request:
        """The request with pagination values set, in the query or in the JSON body."""
        if self.config.pagination_in == "body":
            return replace(request, body={**(request.body or {}), **values})
        return replace(request, params={**request.params, **values})

    def _next(
        self, request: _Request, response: httpx.Response, payload: Any, records: list[Any]
    ) -> _Request | None:
        p, page = self.config.pagination, request.page + 1
        if isinstance(p, PagePagination) and records:
            number = p.start + request.page
            return replace(self._with(request, {p.param: number}), page=page)
        if isinstance(p, OffsetPagination) and records:
            where = request.body if self.config.pagination_in == "body" else request.params
            offset = int(where[p.offset_param]) + len(records)
            return replace(self._with(request, {p.offset_param: offset}), page=page)
        if isinstance(p, CursorPagination):
            cursor = resolve(payload, p.cursor_path)
            if cursor is MISSING or cursor is None or cursor == "":
                return None
            if not isinstance(cursor, str | int | float):
                raise ConnectorError(
                    f"the cursor at {p.cursor_path!r} in the response from "
                    f"{_where(response.url)} is not a string or number"
                )
            return replace(self._with(request, {p.cursor_param: cursor}), page=page)
        if isinstance(p, LinkPagination):
            return self._next_link(request, response)
        return None

    def _next_link(self, request: _Request, response: httpx.Response) -> _Request | None:
        link = response.links.get("next", {}).get("url")
        if not link:
            return None
        target = response.url.join(link)
        if _origin(target) != self.origin:
            raise ConnectorError(
                f"the next-page link of {_where(response.url)} leads to another site "
                f"({_where(target)}); not followed, so the credentials stay with this one"
            )
        return _Request(url=str(target), body=request.body, page=request.page + 1)

    async def _fetch(
        self, client: httpx.AsyncClient, request: _Request
    ) -> tuple[httpx.Response, Any]:
        c = self.config
        where = _where(request.url)
        # A next-page link carries its own query; config.params go with the first request only.
        following_link = isinstance(c.pagination, LinkPagination) and request.page > 1
        params = {**({} if following_link else c.params), **request.params}
        if c.auth == "query" and c.auth_name and c.token:
            params[c.auth_name] = c.token.get_secret_value()
        # Merged into the URL here: httpx's params= would replace a query the URL already has
        # (a next link's, or one written into config.url).
        url = httpx.URL(request.url).copy_merge_params({k: _param(v) for k, v in params.items()})
        try:
            response = await client.request(c.method, url, json=request.body)
        except httpx.TimeoutException:
            raise ConnectorError(f"{where} did not answer within {c.timeout:g} s") from None
        except httpx.TransportError as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConnectorError(f"cannot reach {where}: {reason}") from None
        if not response.is_success:
            status = f"HTTP {response.status_code} {response.reason_phrase} from {c.method} {where}"
            if response.is_redirect and "location" in response.headers:
                # Not followed: a custom auth header would go wherever the redirect points.
                target = _where(response.url.join(response.headers["location"]))
                status += f" (redirects are not followed; use {target})"
            raise ConnectorError(status)
        try:
            return response, response.json()
        except ValueError:
            kind = response.headers.get("content-type", "no content-type")
            raise ConnectorError(f"the response from {where} is not JSON ({kind})") from None

    def _records(self, payload: Any, url: httpx.URL) -> list[Any]:
        path = self.config.records_path
        records = resolve(payload, path)
        if not isinstance(records, list):
            found = "nothing" if records is MISSING else f"a {_json_type(records)}"
            at = f"records_path {path!r}" if path else "the response (records_path '')"
            raise ConnectorError(f"{at} in the response from {_where(url)} is {found}, not a list")
        return records

    def _item(self, record: Any, position: str) -> SourceItem | ItemError:
        c = self.config
        raw_id = resolve(record, c.id_path)
        if raw_id is MISSING or raw_id is None or raw_id == "":
            return ItemError("?", f"{position} has no id at {c.id_path!r}")
        if isinstance(raw_id, dict | list | bool):
            return ItemError("?", f"{position}: the id at {c.id_path!r} is a {_json_type(raw_id)}")
        external_id = str(raw_id)
        parts = [render(resolve(record, p)) for p in c.content_paths]
        content = "\n\n".join(p for p in parts if p)
        if not content:
            return ItemError(external_id, f"no content at {', '.join(c.content_paths)}")
        title = render(resolve(record, c.title_path)).replace("\n", " ") if c.title_path else ""
        metadata = {
            name: value
            for name, path in c.metadata_paths.items()
            if (value := resolve(record, path)) is not MISSING
        }
        updated = resolve(record, c.updated_at_path) if c.updated_at_path else MISSING
        if updated is not MISSING:
            metadata["updated_at"] = updated
        return SourceItem(
            external_id=external_id,
            title=title or f"record {external_id}",
            content=content.encode(),
            content_type="text/plain",
            url=self._url(record, external_id),
            metadata=metadata,
            modified_at=_datetime(updated),
        )

    def _url(self, record: Any, external_id: str) -> str | None:
        template = self.config.url_path
        if template is None:
            return None
        if "{" not in template:
            value = resolve(record, template)
            return value if isinstance(value, str) and value else None
        values: dict[str, str] = {}
        for placeholder in _PLACEHOLDER.findall(template):
            value = external_id if placeholder == "id" else _scalar(resolve(record, placeholder))
            if not value:
                return None  # no link rather than a broken one
            values[placeholder] = value
        return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    """Scheme, host and port: where credentials may be sent."""
    default = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, url.port or default


def _param(value: Scalar) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _json_type(value: Any) -> str:
    names = {dict: "JSON object", list: "list", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


def _datetime(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _build(config: ApiConfig, ctx: BuildContext) -> ApiConnector:
    ctx.egress.check_static(config.url)  # an IP literal or localhost: a 422 on create
    return ApiConnector(config, ctx.egress)


CONNECTOR_TYPE = ConnectorType("api", ApiConfig, _build, "records of an HTTP JSON API")
