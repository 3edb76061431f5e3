"""The synchronous client, :class:`Ragaas`."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, TypeVar, Unpack

import httpx

from ragaas.client import _calls as c
from ragaas.client import models as m
from ragaas.client._base import Config, IngestionError
from ragaas.client.errors import connection_error, error_from_response
from ragaas.client.streaming import ChatStream

T = TypeVar("T")

# Aliases: inside classes with a ``list`` method, ``list[...]`` would name the method.
Users = list[m.User]
ApiKeys = list[m.ApiKey]
Chunks = list[m.Chunk]
Sources = list[m.DataSource]
SourceTypes = list[m.DataSourceType]
Runs = list[m.SyncRun]
Configs = list[m.RagConfig]
Rules = list[m.Rule]
Alerts = list[m.Alert]
Deliveries = list[m.Delivery]


class _Resource:
    def __init__(self, client: Ragaas) -> None:
        self._client = client

    def _run(self, call: c.Call[T]) -> T:
        return self._client._run(call)


class Auth(_Resource):
    """Login with e-mail and password (JWT pair), refresh, logout, password, who the caller is."""

    def login(self, email: str, password: str, organization_id: str | None = None) -> m.TokenPair:
        return self._run(c.login(email, password, organization_id))

    def refresh(self, refresh_token: str) -> m.TokenPair:
        return self._run(c.refresh(refresh_token))

    def me(self) -> m.Me:
        return self._run(c.call("auth_me", c.model(m.Me)))

    def logout(self, refresh_token: str, *, everywhere: bool = False) -> None:
        """End this sign-in (``everywhere``: every session and token of the user)."""
        self._run(c.logout(refresh_token, everywhere))

    def change_password(self, current_password: str, new_password: str) -> m.TokenPair:
        """Change your password; other sessions end, the returned pair is the new session."""
        return self._run(c.change_password(current_password, new_password))


class UsersResource(_Resource):
    """The organisation's users (``org:admin``)."""

    def list(self) -> Users:
        return self._run(c.call("users_list", c.model_list(m.User)))

    def create(
        self,
        email: str,
        password: str,
        role: m.Role | None = None,
        groups: Sequence[str] | None = None,
    ) -> m.User:
        return self._run(c.users_create(email, password, role, groups))

    def update(
        self,
        user_id: str,
        *,
        role: m.Role | None = None,
        groups: Sequence[str] | None = None,
        active: bool | None = None,
    ) -> m.User:
        return self._run(c.users_update(user_id, role, groups, active))


class ApiKeysResource(_Resource):
    """API keys: your own (an admin sees all); the key itself is returned once, on create."""

    def list(self) -> ApiKeys:
        return self._run(c.call("api_keys_list", c.model_list(m.ApiKey)))

    def create(
        self, name: str, scopes: Sequence[m.Scope], expires_at: c.Moment | None = None
    ) -> m.ApiKeyCreated:
        return self._run(c.api_keys_create(name, scopes, expires_at))

    def revoke(self, key_id: str) -> m.ApiKey:
        return self._run(c.call("api_keys_revoke", c.model(m.ApiKey), path={"key_id": key_id}))


class Documents(_Resource):
    """Submit, list, read and delete documents; ingestion runs in the background."""

    def create(
        self, title: str, text: str, **options: Unpack[c.DocumentOptions]
    ) -> m.DocumentAccepted:
        """Submit a text (plain or Markdown) document; see :meth:`wait_until_ready`."""
        return self._run(c.documents_create_text(title, text, options))

    def upload(
        self,
        file: c.FileInput,
        *,
        filename: str | None = None,
        content_type: str | None = None,
        title: str | None = None,
        **options: Unpack[c.DocumentOptions],
    ) -> m.DocumentAccepted:
        """Upload a file (a path, bytes or a binary file object): txt, md, html, pdf, docx."""
        return self._run(c.documents_upload(file, filename, content_type, title, options))

    def list(
        self,
        *,
        status: m.DocumentStatus | None = None,
        labels: Sequence[str] | None = None,
        data_source_id: str | None = None,
        title: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> m.DocumentPage:
        return self._run(c.documents_list(status, labels, data_source_id, title, limit, offset))

    def iterate(
        self,
        *,
        status: m.DocumentStatus | None = None,
        labels: Sequence[str] | None = None,
        data_source_id: str | None = None,
        title: str | None = None,
        page_size: int = 100,
    ) -> Iterator[m.Document]:
        """Every matching document, page after page."""
        offset = 0
        while True:
            page = self.list(
                status=status,
                labels=labels,
                data_source_id=data_source_id,
                title=title,
                limit=page_size,
                offset=offset,
            )
            yield from page.items
            offset += len(page.items)
            if not page.items or offset >= page.total:
                return

    def get(self, document_id: str) -> m.Document:
        return self._run(
            c.call("documents_get", c.model(m.Document), path={"document_id": document_id})
        )

    def chunks(self, document_id: str) -> Chunks:
        return self._run(
            c.call("documents_chunks", c.model_list(m.Chunk), path={"document_id": document_id})
        )

    def delete(self, document_id: str) -> None:
        self._run(c.call("documents_delete", c.nothing, path={"document_id": document_id}))

    def wait_until_ready(
        self, document_id: str, *, timeout: float = 300.0, poll_interval: float = 0.5
    ) -> m.Document:
        """Poll until ingestion finishes: the ready document, or :class:`IngestionError` if it
        failed, or ``TimeoutError`` after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            document = self.get(document_id)
            if document.status == "ready":
                return document
            if document.status == "failed":
                raise IngestionError(document)
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"document {document_id} still {document.status} after {timeout}s"
                )
            time.sleep(poll_interval)


class DataSources(_Resource):
    """Folders, databases and other sources kept in sync as documents."""

    def types(self) -> SourceTypes:
        return self._run(c.call("data_source_types", c.model_list(m.DataSourceType)))

    def list(self) -> Sources:
        return self._run(c.call("data_sources_list", c.model_list(m.DataSource)))

    def create(
        self,
        name: str,
        type: str,
        config: Mapping[str, Any] | None = None,
        *,
        labels: Sequence[str] | None = None,
        cron: str | None = None,
    ) -> m.DataSource:
        return self._run(c.data_sources_create(name, type, config, labels, cron))

    def get(self, source_id: str) -> m.DataSource:
        return self._run(
            c.call("data_sources_get", c.model(m.DataSource), path={"source_id": source_id})
        )

    def update(
        self,
        source_id: str,
        *,
        name: str | None = None,
        config: Mapping[str, Any] | None = None,
        labels: Sequence[str] | None = None,
        cron: str | None = None,
    ) -> m.DataSource:
        """Change fields; ``cron=""`` unschedules; a masked secret sent back is kept."""
        return self._run(c.data_sources_update(source_id, name, config, labels, cron))

    def delete(self, source_id: str) -> None:
        self._run(c.call("data_sources_delete", c.nothing, path={"source_id": source_id}))

    def sync(self, source_id: str) -> m.SyncRun:
        """Sync now (or get the run already queued or running)."""
        return self._run(
            c.call("data_sources_sync", c.model(m.SyncRun), path={"source_id": source_id})
        )

    def runs(self, source_id: str, *, limit: int | None = None) -> Runs:
        """The source's sync runs, newest first."""
        params = c.query_params(limit=limit)
        call = c.call(
            "data_sources_runs",
            c.model_list(m.SyncRun),
            path={"source_id": source_id},
            params=params,
        )
        return self._run(call)

    def wait_for_run(
        self, source_id: str, run_id: str, *, timeout: float = 300.0, poll_interval: float = 0.5
    ) -> m.SyncRun:
        """Poll until the run is over (whatever its outcome); ``TimeoutError`` after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            run = next(
                (r for r in self.runs(source_id, limit=200) if str(r.id) == str(run_id)), None
            )
            if run is not None and run.finished:
                return run
            if time.monotonic() >= deadline:
                raise TimeoutError(f"sync run {run_id} not finished after {timeout}s")
            time.sleep(poll_interval)


class RagConfigs(_Resource):
    """Named, versioned retrieval and generation parameters."""

    def list(self) -> Configs:
        return self._run(c.call("rag_configs_list", c.model_list(m.RagConfig)))

    def create(
        self, name: str, params: c.ConfigParams | None = None, *, is_default: bool = False
    ) -> m.RagConfig:
        return self._run(c.rag_configs_create(name, params, is_default))

    def get(self, name: str) -> m.RagConfig:
        return self._run(c.call("rag_configs_get", c.model(m.RagConfig), path={"name": name}))

    def update(
        self, name: str, params: c.ConfigParams | None = None, *, is_default: bool | None = None
    ) -> m.RagConfig:
        """A new version with the whole new ``params`` (and/or make it the default)."""
        return self._run(c.rag_configs_update(name, params, is_default))

    def delete(self, name: str) -> None:
        self._run(c.call("rag_configs_delete", c.nothing, path={"name": name}))

    def versions(self, name: str) -> Configs:
        return self._run(
            c.call("rag_configs_versions", c.model_list(m.RagConfig), path={"name": name})
        )


class RulesResource(_Resource):
    """Rules and guardrails with CEL conditions, and their dry run."""

    def list(self) -> Rules:
        return self._run(c.call("rules_list", c.model_list(m.Rule)))

    def create(
        self,
        name: str,
        type: m.RuleType,
        condition: str,
        action: Mapping[str, Any],
        *,
        stage: m.Stage | None = None,
        priority: int | None = None,
        active: bool | None = None,
    ) -> m.Rule:
        return self._run(c.rules_create(name, type, condition, action, stage, priority, active))

    def get(self, rule_id: str) -> m.Rule:
        return self._run(c.call("rules_get", c.model(m.Rule), path={"rule_id": rule_id}))

    def update(self, rule_id: str, **changes: Unpack[c.RuleChanges]) -> m.Rule:
        return self._run(c.rules_update(rule_id, changes))

    def delete(self, rule_id: str) -> None:
        self._run(c.call("rules_delete", c.nothing, path={"rule_id": rule_id}))

    def test(
        self,
        query: str,
        *,
        user_id: str | None = None,
        config: str | None = None,
        chunks: Sequence[Mapping[str, Any]] | None = None,
        answer: str | None = None,
        cited: int | None = None,
    ) -> m.RuleTestResult:
        """What the active rules would do to this query (nothing is retrieved or recorded)."""
        return self._run(c.rules_test(query, user_id, config, chunks, answer, cited))


class AlertsResource(_Resource):
    """Alerts: signed webhooks and e-mails when a sync fails, a guardrail fires, ..."""

    def list(self) -> Alerts:
        return self._run(c.call("alerts_list", c.model_list(m.Alert)))

    def create(self, name: str, kind: m.AlertKind, **fields: Unpack[c.AlertFields]) -> m.Alert:
        return self._run(c.alerts_create(name, kind, fields))

    def get(self, alert_id: str) -> m.Alert:
        return self._run(c.call("alerts_get", c.model(m.Alert), path={"alert_id": alert_id}))

    def update(self, alert_id: str, **changes: Unpack[c.AlertChanges]) -> m.Alert:
        """Change the fields given; ``None`` clears an optional one."""
        return self._run(c.alerts_update(alert_id, changes))

    def delete(self, alert_id: str) -> None:
        self._run(c.call("alerts_delete", c.nothing, path={"alert_id": alert_id}))

    def test(self, alert_id: str) -> Deliveries:
        """Send a ``test`` event through each channel now; the deliveries, sent or failed."""
        call = c.call("alerts_test", c.model_list(m.Delivery), path={"alert_id": alert_id})
        return self._run(call)

    def deliveries(
        self,
        alert_id: str,
        *,
        status: Literal["pending", "sent", "failed"] | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> m.DeliveryPage:
        """The alert's delivery log, newest first."""
        return self._run(c.alerts_deliveries(alert_id, status, limit, offset))


class SsoProviders(_Resource):
    """The organisation's OpenID Connect identity providers (admins; docs/sso.md)."""

    def list(self) -> list[m.SsoProvider]:
        return self._run(c.call("sso_providers_list", c.model_list(m.SsoProvider)))

    def create(
        self,
        slug: str,
        name: str,
        issuer: str,
        client_id: str,
        **fields: Unpack[c.SsoProviderFields],
    ) -> m.SsoProvider:
        """Users then sign in at ``<server>/v1/auth/oidc/<slug>/login`` (a browser flow)."""
        return self._run(c.sso_providers_create(slug, name, issuer, client_id, fields))

    def get(self, provider_id: str) -> m.SsoProvider:
        path = {"provider_id": provider_id}
        return self._run(c.call("sso_providers_get", c.model(m.SsoProvider), path=path))

    def update(self, provider_id: str, **changes: Unpack[c.SsoProviderChanges]) -> m.SsoProvider:
        return self._run(c.sso_providers_update(provider_id, changes))

    def delete(self, provider_id: str) -> None:
        self._run(c.call("sso_providers_delete", c.nothing, path={"provider_id": provider_id}))


class Queries(_Resource):
    """The query history and feedback on answers."""

    def list(self, **filters: Unpack[c.QueryFilters]) -> m.QueryPage:
        return self._run(c.queries_list(filters))

    def get(self, query_id: str) -> m.QueryDetail:
        return self._run(c.call("queries_get", c.model(m.QueryDetail), path={"query_id": query_id}))

    def feedback(self, query_id: str, rating: int, comment: str | None = None) -> m.QueryRecord:
        """Rate an answer 1-5 (the asker or an admin)."""
        return self._run(c.feedback(query_id, rating, comment))


class Analytics(_Resource):
    """Reports over the query history; ``since``/``until`` default to the last 30 days."""

    def volume(
        self,
        *,
        since: c.Moment | None = None,
        until: c.Moment | None = None,
        interval: Literal["hour", "day"] | None = None,
    ) -> list[m.VolumeRow]:
        parse = c.model_list(m.VolumeRow)
        return self._run(c.analytics("volume", parse, since, until, interval=interval))

    def latency(
        self, *, since: c.Moment | None = None, until: c.Moment | None = None
    ) -> list[m.LatencyRow]:
        return self._run(c.analytics("latency", c.model_list(m.LatencyRow), since, until))

    def usage(
        self,
        *,
        since: c.Moment | None = None,
        until: c.Moment | None = None,
        group_by: Literal["user", "config", "day", "model"] | None = None,
    ) -> list[m.UsageRow]:
        parse = c.model_list(m.UsageRow)
        return self._run(c.analytics("usage", parse, since, until, group_by=group_by))

    def top_queries(
        self,
        *,
        since: c.Moment | None = None,
        until: c.Moment | None = None,
        limit: int | None = None,
    ) -> list[m.TopQueryRow]:
        parse = c.model_list(m.TopQueryRow)
        return self._run(c.analytics("top-queries", parse, since, until, limit=limit))

    def no_results(
        self,
        *,
        since: c.Moment | None = None,
        until: c.Moment | None = None,
        limit: int | None = None,
    ) -> list[m.NoResultRow]:
        parse = c.model_list(m.NoResultRow)
        return self._run(c.analytics("no-results", parse, since, until, limit=limit))

    def lowest_rated(
        self,
        *,
        since: c.Moment | None = None,
        until: c.Moment | None = None,
        limit: int | None = None,
    ) -> list[m.RatedRow]:
        parse = c.model_list(m.RatedRow)
        return self._run(c.analytics("lowest-rated", parse, since, until, limit=limit))

    def cited_documents(
        self,
        *,
        since: c.Moment | None = None,
        until: c.Moment | None = None,
        limit: int | None = None,
    ) -> list[m.CitedDocumentRow]:
        parse = c.model_list(m.CitedDocumentRow)
        return self._run(c.analytics("cited-documents", parse, since, until, limit=limit))

    def uncited_documents(
        self,
        *,
        since: c.Moment | None = None,
        until: c.Moment | None = None,
        limit: int | None = None,
    ) -> list[m.UncitedDocumentRow]:
        parse = c.model_list(m.UncitedDocumentRow)
        return self._run(c.analytics("uncited-documents", parse, since, until, limit=limit))

    def guardrails(
        self, *, since: c.Moment | None = None, until: c.Moment | None = None
    ) -> list[m.GuardrailRow]:
        return self._run(c.analytics("guardrails", c.model_list(m.GuardrailRow), since, until))

    def csv(
        self,
        report: c.AnalyticsReport,
        *,
        since: c.Moment | None = None,
        until: c.Moment | None = None,
        **params: str | int,
    ) -> str:
        """A report as CSV text (header row first; empty when there are no rows)."""
        return self._run(c.analytics(report, c.text, since, until, "csv", **params))


class Ragaas:
    """A synchronous client of the Ragaas REST API.

    ``Ragaas()`` reads ``RAGAAS_URL`` and ``RAGAAS_API_KEY``; arguments take precedence. The key
    may be an API key (``rg_...``) or a JWT access token from :meth:`Auth.login`. Failures raise
    :class:`ragaas.client.RagaasError` subclasses. Close it (or use ``with``) when done.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float | None = None,
        headers: Mapping[str, str] | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        self._config = Config.resolve(base_url, api_key, timeout, headers)
        self._owned = http_client is None
        self._http = http_client or httpx.Client(timeout=self._config.timeout)
        self.auth = Auth(self)
        self.users = UsersResource(self)
        self.api_keys = ApiKeysResource(self)
        self.documents = Documents(self)
        self.data_sources = DataSources(self)
        self.rag_configs = RagConfigs(self)
        self.rules = RulesResource(self)
        self.queries = Queries(self)
        self.alerts = AlertsResource(self)
        self.sso_providers = SsoProviders(self)
        self.analytics = Analytics(self)

    @property
    def base_url(self) -> str:
        return self._config.base_url

    def __enter__(self) -> Ragaas:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._owned:
            self._http.close()

    def audit(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        object_type: str | None = None,
        object_id: str | None = None,
        since: c.Moment | None = None,
        until: c.Moment | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> dict[str, Any]:
        """A page of the organisation's audit log (admins): ``{items, total, limit, offset}``."""
        call = c.audit_list(
            since, until, limit, offset,
            actor=actor, action=action, object_type=object_type, object_id=object_id,
        )  # fmt: skip
        page: dict[str, Any] = self._run(call)
        return page

    def quota(self) -> m.Quota:
        """The organisation's quotas (documents, storage_bytes, queries_per_day) and usage."""
        return self._run(c.call("quota_get", c.model(m.Quota)))

    def health(self) -> dict[str, str]:
        """Liveness: ``{"status": "ok"}``."""
        return self._run(c.call("health", c.json_object))

    def ready(self) -> dict[str, str]:
        """Readiness: the database answers and is migrated (``ServerError`` 503 when not)."""
        return self._run(c.call("ready", c.json_object))

    def search(self, query: str, **options: Unpack[c.RetrievalOptions]) -> m.SearchResponse:
        """Passages ranked for ``query`` (hybrid by default)."""
        return self._run(c.search(query, options))

    def chat(self, query: str, **options: Unpack[c.RetrievalOptions]) -> m.ChatResponse:
        """An answer with numbered citations, recorded in the query history."""
        return self._run(c.chat(query, options, stream=False))

    def chat_stream(self, query: str, **options: Unpack[c.RetrievalOptions]) -> ChatStream:
        """The answer as it is generated: ``with client.chat_stream(q) as s: for text in s``."""
        call = c.chat(query, options, stream=True)
        return ChatStream(self.base_url, lambda: self._send(call, stream=True))

    def _run(self, call: c.Call[T]) -> T:
        response = self._send(call, stream=False)
        return call.parse(response)

    def _send(self, call: c.Call[Any], *, stream: bool) -> httpx.Response:
        request = self._http.build_request(
            call.method,
            self._config.base_url + call.path,
            params=call.params,
            json=call.json,
            data=call.data,
            files=call.files,
            headers=self._config.headers,
        )
        try:
            response = self._http.send(request, stream=stream)
            if response.is_error and stream:
                response.read()
        except httpx.TransportError as exc:
            raise connection_error(self._config.base_url, exc) from exc
        if response.is_error:
            if stream:
                response.close()
            raise error_from_response(response)
        return response
