"""The asynchronous client, :class:`AsyncRagaas` (generated from ``_sync.py``, then edited)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, TypeVar, Unpack

import httpx

from ragaas.client import _calls as c
from ragaas.client import models as m
from ragaas.client._base import Config, IngestionError
from ragaas.client.errors import connection_error, error_from_response
from ragaas.client.streaming import AsyncChatStream

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


class _AsyncResource:
    def __init__(self, client: AsyncRagaas) -> None:
        self._client = client

    async def _run(self, call: c.Call[T]) -> T:
        return await self._client._run(call)


class AsyncAuth(_AsyncResource):
    """Login with e-mail and password (JWT pair), refresh, logout, password, who the caller is."""

    async def login(
        self, email: str, password: str, organization_id: str | None = None
    ) -> m.TokenPair:
        return await self._run(c.login(email, password, organization_id))

    async def refresh(self, refresh_token: str) -> m.TokenPair:
        return await self._run(c.refresh(refresh_token))

    async def me(self) -> m.Me:
        return await self._run(c.call("auth_me", c.model(m.Me)))

    async def logout(self, refresh_token: str, *, everywhere: bool = False) -> None:
        """End this sign-in (``everywhere``: every session and token of the user)."""
        await self._run(c.logout(refresh_token, everywhere))

    async def change_password(self, current_password: str, new_password: str) -> m.TokenPair:
        """Change your password; other sessions end, the returned pair is the new session."""
        return await self._run(c.change_password(current_password, new_password))


class AsyncUsersResource(_AsyncResource):
    """The organisation's users (``org:admin``)."""

    async def list(self) -> Users:
        return await self._run(c.call("users_list", c.model_list(m.User)))

    async def create(
        self,
        email: str,
        password: str,
        role: m.Role | None = None,
        groups: Sequence[str] | None = None,
    ) -> m.User:
        return await self._run(c.users_create(email, password, role, groups))

    async def update(
        self,
        user_id: str,
        *,
        role: m.Role | None = None,
        groups: Sequence[str] | None = None,
        active: bool | None = None,
    ) -> m.User:
        return await self._run(c.users_update(user_id, role, groups, active))


class AsyncApiKeysResource(_AsyncResource):
    """API keys: your own (an admin sees all); the key itself is returned once, on create."""

    async def list(self) -> ApiKeys:
        return await self._run(c.call("api_keys_list", c.model_list(m.ApiKey)))

    async def create(
        self, name: str, scopes: Sequence[m.Scope], expires_at: c.Moment | None = None
    ) -> m.ApiKeyCreated:
        return await self._run(c.api_keys_create(name, scopes, expires_at))

    async def revoke(self, key_id: str) -> m.ApiKey:
        return await self._run(
            c.call("api_keys_revoke", c.model(m.ApiKey), path={"key_id": key_id})
        )


class AsyncDocuments(_AsyncResource):
    """Submit, list, read and delete documents; ingestion runs in the background."""

    async def create(
        self, title: str, text: str, **options: Unpack[c.DocumentOptions]
    ) -> m.DocumentAccepted:
        """Submit a text (plain or Markdown) document; see :meth:`wait_until_ready`."""
        return await self._run(c.documents_create_text(title, text, options))

    async def upload(
        self,
        file: c.FileInput,
        *,
        filename: str | None = None,
        content_type: str | None = None,
        title: str | None = None,
        **options: Unpack[c.DocumentOptions],
    ) -> m.DocumentAccepted:
        """Upload a file (a path, bytes or a binary file object): txt, md, html, pdf, docx."""
        return await self._run(c.documents_upload(file, filename, content_type, title, options))

    async def list(
        self,
        *,
        status: m.DocumentStatus | None = None,
        labels: Sequence[str] | None = None,
        data_source_id: str | None = None,
        title: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> m.DocumentPage:
        return await self._run(
            c.documents_list(status, labels, data_source_id, title, limit, offset)
        )

    async def iterate(
        self,
        *,
        status: m.DocumentStatus | None = None,
        labels: Sequence[str] | None = None,
        data_source_id: str | None = None,
        title: str | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[m.Document]:
        """Every matching document, page after page."""
        offset = 0
        while True:
            page = await self.list(
                status=status,
                labels=labels,
                data_source_id=data_source_id,
                title=title,
                limit=page_size,
                offset=offset,
            )
            for document in page.items:
                yield document
            offset += len(page.items)
            if not page.items or offset >= page.total:
                return

    async def get(self, document_id: str) -> m.Document:
        return await self._run(
            c.call("documents_get", c.model(m.Document), path={"document_id": document_id})
        )

    async def chunks(self, document_id: str) -> Chunks:
        return await self._run(
            c.call("documents_chunks", c.model_list(m.Chunk), path={"document_id": document_id})
        )

    async def delete(self, document_id: str) -> None:
        await self._run(c.call("documents_delete", c.nothing, path={"document_id": document_id}))

    async def wait_until_ready(
        self,
        document_id: str,
        *,
        timeout: float = 300.0,  # noqa: ASYNC109 (the same call as the sync client's)
        poll_interval: float = 0.5,
    ) -> m.Document:
        """Poll until ingestion finishes: the ready document, or :class:`IngestionError` if it
        failed, or ``TimeoutError`` after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            document = await self.get(document_id)
            if document.status == "ready":
                return document
            if document.status == "failed":
                raise IngestionError(document)
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"document {document_id} still {document.status} after {timeout}s"
                )
            await asyncio.sleep(poll_interval)


class AsyncDataSources(_AsyncResource):
    """Folders, databases and other sources kept in sync as documents."""

    async def types(self) -> SourceTypes:
        return await self._run(c.call("data_source_types", c.model_list(m.DataSourceType)))

    async def list(self) -> Sources:
        return await self._run(c.call("data_sources_list", c.model_list(m.DataSource)))

    async def create(
        self,
        name: str,
        type: str,
        config: Mapping[str, Any] | None = None,
        *,
        labels: Sequence[str] | None = None,
        cron: str | None = None,
    ) -> m.DataSource:
        return await self._run(c.data_sources_create(name, type, config, labels, cron))

    async def get(self, source_id: str) -> m.DataSource:
        return await self._run(
            c.call("data_sources_get", c.model(m.DataSource), path={"source_id": source_id})
        )

    async def update(
        self,
        source_id: str,
        *,
        name: str | None = None,
        config: Mapping[str, Any] | None = None,
        labels: Sequence[str] | None = None,
        cron: str | None = None,
    ) -> m.DataSource:
        """Change fields; ``cron=""`` unschedules; a masked secret sent back is kept."""
        return await self._run(c.data_sources_update(source_id, name, config, labels, cron))

    async def delete(self, source_id: str) -> None:
        await self._run(c.call("data_sources_delete", c.nothing, path={"source_id": source_id}))

    async def sync(self, source_id: str) -> m.SyncRun:
        """Sync now (or get the run already queued or running)."""
        return await self._run(
            c.call("data_sources_sync", c.model(m.SyncRun), path={"source_id": source_id})
        )

    async def runs(self, source_id: str, *, limit: int | None = None) -> Runs:
        """The source's sync runs, newest first."""
        params = c.query_params(limit=limit)
        call = c.call(
            "data_sources_runs",
            c.model_list(m.SyncRun),
            path={"source_id": source_id},
            params=params,
        )
        return await self._run(call)

    async def wait_for_run(
        self,
        source_id: str,
        run_id: str,
        *,
        timeout: float = 300.0,  # noqa: ASYNC109 (the same call as the sync client's)
        poll_interval: float = 0.5,
    ) -> m.SyncRun:
        """Poll until the run is over (whatever its outcome); ``TimeoutError`` after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            run = next(
                (r for r in await self.runs(source_id, limit=200) if str(r.id) == str(run_id)), None
            )
            if run is not None and run.finished:
                return run
            if time.monotonic() >= deadline:
                raise TimeoutError(f"sync run {run_id} not finished after {timeout}s")
            await asyncio.sleep(poll_interval)


class AsyncRagConfigs(_AsyncResource):
    """Named, versioned retrieval and generation parameters."""

    async def list(self) -> Configs:
        return await self._run(c.call("rag_configs_list", c.model_list(m.RagConfig)))

    async def create(
        self, name: str, params: c.ConfigParams | None = None, *, is_default: bool = False
    ) -> m.RagConfig:
        return await self._run(c.rag_configs_create(name, params, is_default))

    async def get(self, name: str) -> m.RagConfig:
        return await self._run(c.call("rag_configs_get", c.model(m.RagConfig), path={"name": name}))

    async def update(
        self, name: str, params: c.ConfigParams | None = None, *, is_default: bool | None = None
    ) -> m.RagConfig:
        """A new version with the whole new ``params`` (and/or make it the default)."""
        return await self._run(c.rag_configs_update(name, params, is_default))

    async def delete(self, name: str) -> None:
        await self._run(c.call("rag_configs_delete", c.nothing, path={"name": name}))

    async def versions(self, name: str) -> Configs:
        return await self._run(
            c.call("rag_configs_versions", c.model_list(m.RagConfig), path={"name": name})
        )


class AsyncRulesResource(_AsyncResource):
    """Rules and guardrails with CEL conditions, and their dry run."""

    async def list(self) -> Rules:
        return await self._run(c.call("rules_list", c.model_list(m.Rule)))

    async def create(
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
        return await self._run(
            c.rules_create(name, type, condition, action, stage, priority, active)
        )

    async def get(self, rule_id: str) -> m.Rule:
        return await self._run(c.call("rules_get", c.model(m.Rule), path={"rule_id": rule_id}))

    async def update(self, rule_id: str, **changes: Unpack[c.RuleChanges]) -> m.Rule:
        return await self._run(c.rules_update(rule_id, changes))

    async def delete(self, rule_id: str) -> None:
        await self._run(c.call("rules_delete", c.nothing, path={"rule_id": rule_id}))

    async def test(
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
        return await self._run(c.rules_test(query, user_id, config, chunks, answer, cited))


class AsyncAlertsResource(_AsyncResource):
    """Alerts: signed webhooks and e-mails when a sync fails, a guardrail fires, ..."""

    async def list(self) -> Alerts:
        return await self._run(c.call("alerts_list", c.model_list(m.Alert)))

    async def create(
        self, name: str, kind: m.AlertKind, **fields: Unpack[c.AlertFields]
    ) -> m.Alert:
        return await self._run(c.alerts_create(name, kind, fields))

    async def get(self, alert_id: str) -> m.Alert:
        return await self._run(c.call("alerts_get", c.model(m.Alert), path={"alert_id": alert_id}))

    async def update(self, alert_id: str, **changes: Unpack[c.AlertChanges]) -> m.Alert:
        """Change the fields given; ``None`` clears an optional one."""
        return await self._run(c.alerts_update(alert_id, changes))

    async def delete(self, alert_id: str) -> None:
        await self._run(c.call("alerts_delete", c.nothing, path={"alert_id": alert_id}))

    async def test(self, alert_id: str) -> Deliveries:
        """Send a ``test`` event through each channel now; the deliveries, sent or failed."""
        call = c.call("alerts_test", c.model_list(m.Delivery), path={"alert_id": alert_id})
        return await self._run(call)

    async def deliveries(
        self,
        alert_id: str,
        *,
        status: Literal["pending", "sent", "failed"] | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> m.DeliveryPage:
        """The alert's delivery log, newest first."""
        return await self._run(c.alerts_deliveries(alert_id, status, limit, offset))


class AsyncSsoProviders(_AsyncResource):
    """The organisation's OpenID Connect identity providers (admins; docs/sso.md)."""

    async def list(self) -> list[m.SsoProvider]:
        return await self._run(c.call("sso_providers_list", c.model_list(m.SsoProvider)))

    async def create(
        self,
        slug: str,
        name: str,
        issuer: str,
        client_id: str,
        **fields: Unpack[c.SsoProviderFields],
    ) -> m.SsoProvider:
        """Users then sign in at ``<server>/v1/auth/oidc/<slug>/login`` (a browser flow)."""
        return await self._run(c.sso_providers_create(slug, name, issuer, client_id, fields))

    async def get(self, provider_id: str) -> m.SsoProvider:
        path = {"provider_id": provider_id}
        return await self._run(c.call("sso_providers_get", c.model(m.SsoProvider), path=path))

    async def update(
        self, provider_id: str, **changes: Unpack[c.SsoProviderChanges]
    ) -> m.SsoProvider:
        return await self._run(c.sso_providers_update(provider_id, changes))

    async def delete(self, provider_id: str) -> None:
        await self._run(
            c.call("sso_providers_delete", c.nothing, path={"provider_id": provider_id})
        )


class AsyncQueries(_AsyncResource):
    """The query history and feedback on answers."""

    async def list(self, **filters: Unpack[c.QueryFilters]) -> m.QueryPage:
        return await self._run(c.queries_list(filters))

    async def get(self, query_id: str) -> m.QueryDetail:
        return await self._run(
            c.call("queries_get", c.model(m.QueryDetail), path={"query_id": query_id})
        )

    async def feedback(
        self, query_id: str, rating: int, comment: str | None = None
    ) -> m.QueryRecord:
        """Rate an answer 1-5 (the asker or an admin)."""
        return await self._run(c.feedback(query_id, rating, comment))


class AsyncAnalytics(_AsyncResource):
    """Reports over the query history; ``since``/``until`` default to the last 30 days."""

    async def volume(
        self,
        *,
        since: c.Moment | None = None,
        until: c.Moment | None = None,
        interval: Literal["hour", "day"] | None = None,
    ) -> list[m.VolumeRow]:
        parse = c.model_list(m.VolumeRow)
        return await self._run(c.analytics("volume", parse, since, until, interval=interval))

    async def latency(
        self, *, since: c.Moment | None = None, until: c.Moment | None = None
    ) -> list[m.LatencyRow]:
        return await self._run(c.analytics("latency", c.model_list(m.LatencyRow), since, until))

    async def usage(
        self,
        *,
        since: c.Moment | None = None,
        until: c.Moment | None = None,
        group_by: Literal["user", "config", "day", "model"] | None = None,
    ) -> list[m.UsageRow]:
        parse = c.model_list(m.UsageRow)
        return await self._run(c.analytics("usage", parse, since, until, group_by=group_by))

    async def top_queries(
        self,
        *,
        since: c.Moment | None = None,
        until: c.Moment | None = None,
        limit: int | None = None,
    ) -> list[m.TopQueryRow]:
        parse = c.model_list(m.TopQueryRow)
        return await self._run(c.analytics("top-queries", parse, since, until, limit=limit))

    async def no_results(
        self,
        *,
        since: c.Moment | None = None,
        until: c.Moment | None = None,
        limit: int | None = None,
    ) -> list[m.NoResultRow]:
        parse = c.model_list(m.NoResultRow)
        return await self._run(c.analytics("no-results", parse, since, until, limit=limit))

    async def lowest_rated(
        self,
        *,
        since: c.Moment | None = None,
        until: c.Moment | None = None,
        limit: int | None = None,
    ) -> list[m.RatedRow]:
        parse = c.model_list(m.RatedRow)
        return await self._run(c.analytics("lowest-rated", parse, since, until, limit=limit))

    async def cited_documents(
        self,
        *,
        since: c.Moment | None = None,
        until: c.Moment | None = None,
        limit: int | None = None,
    ) -> list[m.CitedDocumentRow]:
        parse = c.model_list(m.CitedDocumentRow)
        return await self._run(c.analytics("cited-documents", parse, since, until, limit=limit))

    async def uncited_documents(
        self,
        *,
        since: c.Moment | None = None,
        until: c.Moment | None = None,
        limit: int | None = None,
    ) -> list[m.UncitedDocumentRow]:
        parse = c.model_list(m.UncitedDocumentRow)
        return await self._run(c.analytics("uncited-documents", parse, since, until, limit=limit))

    async def guardrails(
        self, *, since: c.Moment | None = None, until: c.Moment | None = None
    ) -> list[m.GuardrailRow]:
        return await self._run(
            c.analytics("guardrails", c.model_list(m.GuardrailRow), since, until)
        )

    async def csv(
        self,
        report: c.AnalyticsReport,
        *,
        since: c.Moment | None = None,
        until: c.Moment | None = None,
        **params: str | int,
    ) -> str:
        """A report as CSV text (header row first; empty when there are no rows)."""
        return await self._run(c.analytics(report, c.text, since, until, "csv", **params))


class AsyncRagaas:
    """An asynchronous client of the Ragaas REST API (the same methods as ``Ragaas``, awaited).

    ``Ragaas()`` reads ``RAGAAS_URL`` and ``RAGAAS_API_KEY``; arguments take precedence. The key
    may be an API key (``rg_...``) or a JWT access token from :meth:`Auth.login`. Failures raise
    :class:`ragaas.client.RagaasError` subclasses. Close it with ``await client.aclose()`` (or use
    ``async with``).
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float | None = None,
        headers: Mapping[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self._config = Config.resolve(base_url, api_key, timeout, headers)
        self._owned = http_client is None
        self._http = http_client or httpx.AsyncClient(timeout=self._config.timeout)
        self.auth = AsyncAuth(self)
        self.users = AsyncUsersResource(self)
        self.api_keys = AsyncApiKeysResource(self)
        self.documents = AsyncDocuments(self)
        self.data_sources = AsyncDataSources(self)
        self.rag_configs = AsyncRagConfigs(self)
        self.rules = AsyncRulesResource(self)
        self.queries = AsyncQueries(self)
        self.alerts = AsyncAlertsResource(self)
        self.sso_providers = AsyncSsoProviders(self)
        self.analytics = AsyncAnalytics(self)

    @property
    def base_url(self) -> str:
        return self._config.base_url

    async def __aenter__(self) -> AsyncRagaas:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owned:
            await self._http.aclose()

    async def audit(
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
        page: dict[str, Any] = await self._run(call)
        return page

    async def quota(self) -> m.Quota:
        """The organisation's quotas (documents, storage_bytes, queries_per_day) and usage."""
        return await self._run(c.call("quota_get", c.model(m.Quota)))

    async def health(self) -> dict[str, str]:
        """Liveness: ``{"status": "ok"}``."""
        return await self._run(c.call("health", c.json_object))

    async def ready(self) -> dict[str, str]:
        """Readiness: the database answers and is migrated (``ServerError`` 503 when not)."""
        return await self._run(c.call("ready", c.json_object))

    async def search(self, query: str, **options: Unpack[c.RetrievalOptions]) -> m.SearchResponse:
        """Passages ranked for ``query`` (hybrid by default)."""
        return await self._run(c.search(query, options))

    async def chat(self, query: str, **options: Unpack[c.RetrievalOptions]) -> m.ChatResponse:
        """An answer with numbered citations, recorded in the query history."""
        return await self._run(c.chat(query, options, stream=False))

    def chat_stream(self, query: str, **options: Unpack[c.RetrievalOptions]) -> AsyncChatStream:
        """The answer as generated: ``async with client.chat_stream(q) as s: async for t in s``."""
        call = c.chat(query, options, stream=True)
        return AsyncChatStream(self.base_url, lambda: self._send(call, stream=True))

    async def _run(self, call: c.Call[T]) -> T:
        response = await self._send(call, stream=False)
        return call.parse(response)

    async def _send(self, call: c.Call[Any], *, stream: bool) -> httpx.Response:
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
            response = await self._http.send(request, stream=stream)
            if response.is_error and stream:
                await response.aread()
        except httpx.TransportError as exc:
            raise connection_error(self._config.base_url, exc) from exc
        if response.is_error:
            if stream:
                await response.aclose()
            raise error_from_response(response)
        return response
