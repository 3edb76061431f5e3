"""Every REST call as data: the operation, the HTTP request and how to read the answer.

The sync and async clients differ only in how they send a request, so each endpoint is described
once here (a :class:`Call`) and both clients run the same descriptions. ``ROUTES`` maps each
OpenAPI ``operationId`` to its method and path; a test checks it against the server's document.
"""

from __future__ import annotations

import json
import mimetypes
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Generic, Literal, TypedDict, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, TypeAdapter

from ragaas.client import models as m

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

Params = list[tuple[str, str | int | float | bool | None]]
FileInput = str | os.PathLike[str] | bytes | IO[bytes]
Filters = m.SearchFilters | Mapping[str, Any]
ConfigParams = m.RagParams | Mapping[str, Any]
Moment = datetime | str

ROUTES: dict[str, tuple[str, str]] = {
    "health": ("GET", "/health"),
    "audit_list": ("GET", "/v1/audit"),
    "ready": ("GET", "/ready"),
    "auth_login": ("POST", "/v1/auth/login"),
    "auth_refresh": ("POST", "/v1/auth/refresh"),
    "auth_me": ("GET", "/v1/auth/me"),
    "auth_logout": ("POST", "/v1/auth/logout"),
    "quota_get": ("GET", "/v1/quota"),
    "auth_change_password": ("POST", "/v1/auth/password"),
    "users_list": ("GET", "/v1/users"),
    "users_create": ("POST", "/v1/users"),
    "users_update": ("PATCH", "/v1/users/{user_id}"),
    "api_keys_list": ("GET", "/v1/api-keys"),
    "api_keys_create": ("POST", "/v1/api-keys"),
    "api_keys_revoke": ("DELETE", "/v1/api-keys/{key_id}"),
    "documents_create": ("POST", "/v1/documents"),
    "documents_list": ("GET", "/v1/documents"),
    "documents_get": ("GET", "/v1/documents/{document_id}"),
    "documents_delete": ("DELETE", "/v1/documents/{document_id}"),
    "documents_chunks": ("GET", "/v1/documents/{document_id}/chunks"),
    "data_source_types": ("GET", "/v1/data-sources/types"),
    "data_sources_list": ("GET", "/v1/data-sources"),
    "data_sources_create": ("POST", "/v1/data-sources"),
    "data_sources_get": ("GET", "/v1/data-sources/{source_id}"),
    "data_sources_update": ("PATCH", "/v1/data-sources/{source_id}"),
    "data_sources_delete": ("DELETE", "/v1/data-sources/{source_id}"),
    "data_sources_sync": ("POST", "/v1/data-sources/{source_id}/sync"),
    "data_sources_runs": ("GET", "/v1/data-sources/{source_id}/runs"),
    "rag_configs_list": ("GET", "/v1/rag-configs"),
    "rag_configs_create": ("POST", "/v1/rag-configs"),
    "rag_configs_get": ("GET", "/v1/rag-configs/{name}"),
    "rag_configs_update": ("PUT", "/v1/rag-configs/{name}"),
    "rag_configs_delete": ("DELETE", "/v1/rag-configs/{name}"),
    "rag_configs_versions": ("GET", "/v1/rag-configs/{name}/versions"),
    "rules_list": ("GET", "/v1/rules"),
    "rules_create": ("POST", "/v1/rules"),
    "rules_get": ("GET", "/v1/rules/{rule_id}"),
    "rules_update": ("PATCH", "/v1/rules/{rule_id}"),
    "rules_delete": ("DELETE", "/v1/rules/{rule_id}"),
    "rules_test": ("POST", "/v1/rules/test"),
    "search": ("POST", "/v1/search"),
    "chat": ("POST", "/v1/chat"),
    "queries_list": ("GET", "/v1/queries"),
    "queries_get": ("GET", "/v1/queries/{query_id}"),
    "queries_feedback": ("POST", "/v1/queries/{query_id}/feedback"),
    "analytics_volume": ("GET", "/v1/analytics/volume"),
    "analytics_latency": ("GET", "/v1/analytics/latency"),
    "analytics_usage": ("GET", "/v1/analytics/usage"),
    "analytics_top_queries": ("GET", "/v1/analytics/top-queries"),
    "analytics_no_results": ("GET", "/v1/analytics/no-results"),
    "analytics_lowest_rated": ("GET", "/v1/analytics/lowest-rated"),
    "analytics_cited_documents": ("GET", "/v1/analytics/cited-documents"),
    "analytics_uncited_documents": ("GET", "/v1/analytics/uncited-documents"),
    "analytics_guardrails": ("GET", "/v1/analytics/guardrails"),
    "alerts_list": ("GET", "/v1/alerts"),
    "alerts_create": ("POST", "/v1/alerts"),
    "alerts_get": ("GET", "/v1/alerts/{alert_id}"),
    "alerts_update": ("PATCH", "/v1/alerts/{alert_id}"),
    "alerts_delete": ("DELETE", "/v1/alerts/{alert_id}"),
    "alerts_test": ("POST", "/v1/alerts/{alert_id}/test"),
    "alerts_deliveries": ("GET", "/v1/alerts/{alert_id}/deliveries"),
    "sso_providers_list": ("GET", "/v1/sso/providers"),
    "sso_providers_create": ("POST", "/v1/sso/providers"),
    "sso_providers_get": ("GET", "/v1/sso/providers/{provider_id}"),
    "sso_providers_update": ("PATCH", "/v1/sso/providers/{provider_id}"),
    "sso_providers_delete": ("DELETE", "/v1/sso/providers/{provider_id}"),
}

AnalyticsReport = Literal[
    "volume",
    "latency",
    "usage",
    "top-queries",
    "no-results",
    "lowest-rated",
    "cited-documents",
    "uncited-documents",
    "guardrails",
]


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request, ready to send, and the function that reads its response."""

    operation: str
    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    params: Params = field(default_factory=list)
    json: Any = None
    data: dict[str, str] | None = None
    files: dict[str, tuple[str, Any, str]] | None = None


def call(
    operation: str,
    parse: Callable[[httpx.Response], T],
    *,
    path: Mapping[str, object] | None = None,
    params: Params | None = None,
    json: Any = None,
    **extra: Any,
) -> Call[T]:
    """A Call of ``operation``, with its path parameters filled in (URL-quoted)."""
    method, template = ROUTES[operation]
    filled = template.format(**{k: quote(str(v), safe="") for k, v in (path or {}).items()})
    return Call(operation, method, filled, parse, params or [], json, **extra)


# --- reading responses -------------------------------------------------------------------------


def model(cls: type[M]) -> Callable[[httpx.Response], M]:
    return lambda response: cls.model_validate_json(response.content)


def model_list(cls: type[M]) -> Callable[[httpx.Response], list[M]]:
    adapter: TypeAdapter[list[M]] = TypeAdapter(list[cls])  # type: ignore[valid-type]
    return lambda response: adapter.validate_json(response.content)


def nothing(_: httpx.Response) -> None:
    return None


def text(response: httpx.Response) -> str:
    return response.text


def json_object(response: httpx.Response) -> dict[str, str]:
    body = response.json()
    return {str(k): str(v) for k, v in body.items()} if isinstance(body, dict) else {}


# --- building requests -------------------------------------------------------------------------


def query_params(**values: object) -> Params:
    """Query parameters without the unset ones; lists repeat the key; datetimes in ISO 8601."""
    out: Params = []
    for key, value in values.items():
        if value is None:
            continue
        items = value if isinstance(value, list | tuple) else [value]
        for item in items:
            out.append((key.rstrip("_"), _plain(item)))
    return out


def _plain(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def dump(value: BaseModel | Mapping[str, Any] | None) -> Any:
    """A model or mapping as JSON-ready data (unset model fields left out)."""
    if value is None:
        return None
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_unset=True)
    return json.loads(json.dumps(dict(value), default=str))


def body(**values: Any) -> dict[str, Any]:
    """A JSON body without the arguments left at None (so the server's defaults apply)."""
    return {
        key: dump(v) if isinstance(v, BaseModel | Mapping) else v
        for key, v in values.items()
        if v is not None
    }


# --- options shared by several methods ---------------------------------------------------------


class RetrievalOptions(TypedDict, total=False):
    """Options of search and chat."""

    top_k: int
    mode: m.SearchMode
    filters: Filters
    config: str


class DocumentOptions(TypedDict, total=False):
    """Optional fields of a submitted document."""

    external_id: str
    url: str
    metadata: Mapping[str, Any]
    labels: Sequence[str]


class RuleChanges(TypedDict, total=False):
    """Fields of a rule to change (the others are kept)."""

    name: str
    condition: str
    stage: m.Stage
    action: Mapping[str, Any]
    priority: int
    active: bool


class AlertFields(TypedDict, total=False):
    """The optional fields of an alert; which apply depends on its kind (docs/notifications.md).

    ``webhook`` is ``{"url", "secret"}``; on update, ``None`` clears a field and a secret sent
    back as ``"********"`` keeps the stored one.
    """

    threshold: float | None
    window_minutes: int | None
    min_events: int | None
    source_id: str | None
    rule_name: str | None
    webhook: Mapping[str, str] | None
    emails: Sequence[str]
    active: bool


class AlertChanges(AlertFields, total=False):
    name: str
    kind: m.AlertKind


class SsoProviderFields(TypedDict, total=False):
    """The optional fields of an SSO provider (docs/sso.md); on update, a client secret sent
    back as ``"********"`` keeps the stored one and ``default_role=None`` refuses unmapped users.
    """

    client_secret: str | None
    scopes: Sequence[str]
    groups_claim: str
    group_roles: Mapping[str, m.Role]
    default_role: m.Role | None
    allowed_domains: Sequence[str]
    enabled: bool


class SsoProviderChanges(SsoProviderFields, total=False):
    name: str
    issuer: str
    client_id: str


class QueryFilters(TypedDict, total=False):
    """Filters of the query history."""

    user_id: str
    config: str
    kind: Literal["search", "chat"]
    since: Moment
    until: Moment
    rating: int
    max_rating: int
    blocked: bool
    limit: int
    offset: int


# --- auth, users, keys -------------------------------------------------------------------------


def login(email: str, password: str, organization_id: str | None) -> Call[m.TokenPair]:
    payload = body(email=email, password=password, organization_id=organization_id)
    return call("auth_login", model(m.TokenPair), json=payload)


def refresh(refresh_token: str) -> Call[m.TokenPair]:
    return call("auth_refresh", model(m.TokenPair), json={"refresh_token": refresh_token})


def logout(refresh_token: str, everywhere: bool) -> Call[None]:
    payload = {"refresh_token": refresh_token, "everywhere": everywhere}
    return call("auth_logout", nothing, json=payload)


def change_password(current_password: str, new_password: str) -> Call[m.TokenPair]:
    payload = {"current_password": current_password, "new_password": new_password}
    return call("auth_change_password", model(m.TokenPair), json=payload)


def users_create(
    email: str, password: str, role: str | None, groups: Sequence[str] | None
) -> Call[m.User]:
    payload = body(email=email, password=password, role=role, groups=_list(groups))
    return call("users_create", model(m.User), json=payload)


def users_update(
    user_id: str, role: str | None, groups: Sequence[str] | None, active: bool | None
) -> Call[m.User]:
    payload = body(role=role, groups=_list(groups), active=active)
    return call("users_update", model(m.User), path={"user_id": user_id}, json=payload)


def api_keys_create(
    name: str, scopes: Sequence[str], expires_at: Moment | None
) -> Call[m.ApiKeyCreated]:
    payload = body(name=name, scopes=list(scopes), expires_at=_iso(expires_at))
    return call("api_keys_create", model(m.ApiKeyCreated), json=payload)


# --- documents ---------------------------------------------------------------------------------


def documents_create_text(
    title: str, text_: str, options: DocumentOptions
) -> Call[m.DocumentAccepted]:
    payload = body(title=title, text=text_, **_document_options(options))
    return call("documents_create", model(m.DocumentAccepted), json=payload)


def documents_upload(
    file: FileInput,
    filename: str | None,
    content_type: str | None,
    title: str | None,
    options: DocumentOptions,
) -> Call[m.DocumentAccepted]:
    """A multipart upload; the file's content is read now, so the Call can be sent again."""
    name, content = _read_file(file, filename)
    kind = content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
    fields = {"title": title, **_document_options(options)}
    form: dict[str, str] = {}
    for key, value in fields.items():
        if value is None:
            continue
        if key == "labels":
            form[key] = ",".join(value)
        elif key == "metadata":
            form[key] = json.dumps(value, default=str)
        else:
            form[key] = str(value)
    files = {"file": (name, content, kind)}
    return call("documents_create", model(m.DocumentAccepted), data=form, files=files)


def _document_options(options: DocumentOptions) -> dict[str, Any]:
    labels = options.get("labels")
    metadata = options.get("metadata")
    return {
        "external_id": options.get("external_id"),
        "url": options.get("url"),
        "metadata": dict(metadata) if metadata is not None else None,
        "labels": list(labels) if labels is not None else None,
    }


def _read_file(file: FileInput, filename: str | None) -> tuple[str, bytes]:
    if isinstance(file, bytes):
        return filename or "upload", file
    if isinstance(file, str | os.PathLike):
        path = Path(file)
        return filename or path.name, path.read_bytes()
    name = filename or Path(str(getattr(file, "name", "upload"))).name
    return name, file.read()


def documents_list(
    status: str | None,
    labels: Sequence[str] | None,
    data_source_id: str | None,
    title: str | None,
    limit: int | None,
    offset: int | None,
) -> Call[m.DocumentPage]:
    params = query_params(
        status=status,
        label=_list(labels),
        data_source_id=data_source_id,
        title=title,
        limit=limit,
        offset=offset,
    )
    return call("documents_list", model(m.DocumentPage), params=params)


# --- search and chat ---------------------------------------------------------------------------


def search(query: str, options: RetrievalOptions) -> Call[m.SearchResponse]:
    return call("search", model(m.SearchResponse), json=body(query=query, **options))


def chat(query: str, options: RetrievalOptions, stream: bool) -> Call[m.ChatResponse]:
    payload = body(query=query, **options)
    if stream:
        payload["stream"] = True
    return call("chat", model(m.ChatResponse), json=payload)


# --- data sources, configs, rules --------------------------------------------------------------


def data_sources_create(
    name: str,
    type_: str,
    config: Mapping[str, Any] | None,
    labels: Sequence[str] | None,
    cron: str | None,
) -> Call[m.DataSource]:
    payload = body(name=name, type=type_, config=config, labels=_list(labels), cron=cron)
    return call("data_sources_create", model(m.DataSource), json=payload)


def data_sources_update(
    source_id: str,
    name: str | None,
    config: Mapping[str, Any] | None,
    labels: Sequence[str] | None,
    cron: str | None,
) -> Call[m.DataSource]:
    payload = body(name=name, config=config, labels=_list(labels), cron=cron)
    return call(
        "data_sources_update", model(m.DataSource), path={"source_id": source_id}, json=payload
    )


def rag_configs_create(
    name: str, params: ConfigParams | None, is_default: bool
) -> Call[m.RagConfig]:
    payload = body(name=name, params=params, is_default=is_default)
    return call("rag_configs_create", model(m.RagConfig), json=payload)


def rag_configs_update(
    name: str, params: ConfigParams | None, is_default: bool | None
) -> Call[m.RagConfig]:
    payload = body(params=params, is_default=is_default)
    return call("rag_configs_update", model(m.RagConfig), path={"name": name}, json=payload)


def rules_create(
    name: str,
    type_: str,
    condition: str,
    action: Mapping[str, Any],
    stage: str | None,
    priority: int | None,
    active: bool | None,
) -> Call[m.Rule]:
    payload = body(
        name=name,
        type=type_,
        condition=condition,
        action=action,
        stage=stage,
        priority=priority,
        active=active,
    )
    return call("rules_create", model(m.Rule), json=payload)


def rules_update(rule_id: str, changes: Mapping[str, Any]) -> Call[m.Rule]:
    return call("rules_update", model(m.Rule), path={"rule_id": rule_id}, json=dump(changes))


def rules_test(
    query: str,
    user_id: str | None,
    config: str | None,
    chunks: Sequence[Mapping[str, Any]] | None,
    answer: str | None,
    cited: int | None,
) -> Call[m.RuleTestResult]:
    payload = body(
        query=query,
        user_id=user_id,
        config=config,
        chunks=[dict(c) for c in chunks] if chunks is not None else None,
        answer=answer,
        cited=cited,
    )
    return call("rules_test", model(m.RuleTestResult), json=payload)


# --- alerts ------------------------------------------------------------------------------------


def alerts_create(name: str, kind: str, fields: AlertFields) -> Call[m.Alert]:
    return call("alerts_create", model(m.Alert), json=dump({"name": name, "kind": kind, **fields}))


def alerts_update(alert_id: str, changes: AlertChanges) -> Call[m.Alert]:
    """Only the fields given change; an explicit None is sent as null (it clears the field)."""
    return call("alerts_update", model(m.Alert), path={"alert_id": alert_id}, json=dump(changes))


def alerts_deliveries(
    alert_id: str, status: str | None, limit: int | None, offset: int | None
) -> Call[m.DeliveryPage]:
    params = query_params(status=status, limit=limit, offset=offset)
    return call(
        "alerts_deliveries", model(m.DeliveryPage), path={"alert_id": alert_id}, params=params
    )


# --- single sign-on providers ------------------------------------------------------------------


def sso_providers_create(
    slug: str, name: str, issuer: str, client_id: str, fields: SsoProviderFields
) -> Call[m.SsoProvider]:
    payload = dump({"slug": slug, "name": name, "issuer": issuer, "client_id": client_id, **fields})
    return call("sso_providers_create", model(m.SsoProvider), json=payload)


def sso_providers_update(provider_id: str, changes: SsoProviderChanges) -> Call[m.SsoProvider]:
    path = {"provider_id": provider_id}
    return call("sso_providers_update", model(m.SsoProvider), path=path, json=dump(changes))


# --- history and analytics ---------------------------------------------------------------------


def queries_list(filters: QueryFilters) -> Call[m.QueryPage]:
    values: dict[str, Any] = dict(filters)
    values["from"] = _iso(values.pop("since", None))
    values["to"] = _iso(values.pop("until", None))
    return call("queries_list", model(m.QueryPage), params=query_params(**values))


def feedback(query_id: str, rating: int, comment: str | None) -> Call[m.QueryRecord]:
    return call(
        "queries_feedback",
        model(m.QueryRecord),
        path={"query_id": query_id},
        json=body(rating=rating, comment=comment),
    )


def analytics(
    report: AnalyticsReport,
    parse: Callable[[httpx.Response], T],
    since: Moment | None,
    until: Moment | None,
    fmt: str = "json",
    **extra: object,
) -> Call[T]:
    operation = "analytics_" + report.replace("-", "_")
    if operation not in ROUTES:
        raise ValueError(f"unknown analytics report {report!r}")
    params = query_params(**{"from": _iso(since), "to": _iso(until)}, **extra)
    if fmt != "json":
        params.append(("format", fmt))
    return call(operation, parse, params=params)


def raw_json(response: httpx.Response) -> Any:
    return response.json()


def audit_list(
    since: Moment | None, until: Moment | None, limit: int, offset: int, **filters: object
) -> Call[Any]:
    params = query_params(
        **{"from": _iso(since), "to": _iso(until)}, limit=limit, offset=offset, **filters
    )
    return call("audit_list", raw_json, params=params)


def _iso(value: Moment | None) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


def _list(values: Sequence[str] | None) -> list[str] | None:
    return list(values) if values is not None else None
