"""The Python SDK (``ragaas.client``) against a real ``ragaas serve`` process: every endpoint group,
sync and async, streaming, and each error class mapped from a real failure."""

from __future__ import annotations

import builtins
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from ragaas.client import (
    AsyncRagaas,
    AuthenticationError,
    ConflictError,
    ConnectionError,
    IngestionError,
    NotFoundError,
    PermissionDeniedError,
    Ragaas,
    RagaasError,
    RateLimitError,
    ServerError,
    ValidationError,
)
from ragaas.client._calls import ROUTES
from ragaas.settings import Settings
from tests.conftest import free_port, serve_in_thread
from tests.sdk.conftest import BROKEN_MODEL, LLM_REPLY, PASSWORD, Org

# Operations of /openapi.json the SDK deliberately leaves out. A new endpoint must be added to the
# SDK (src/ragaas/client/_calls.py and both clients) or listed here with a reason.
OPENAI_SDK = "OpenAI-compatible: use the openai package with base_url=<server>/v1"
NOT_COVERED: dict[str, str] = {  # operation id -> why
    "openai_chat_completions": OPENAI_SDK,
    "openai_models": OPENAI_SDK,
    "auth_oidc_login": "a browser navigation to the identity provider (docs/sso.md)",
    "auth_oidc_callback": "the identity provider sends the browser there (docs/sso.md)",
}

REFUNDS = (
    "# Refund policy\n\nCustomers may return a gadget within 45 days for a full refund. "
    "Refunds reach the original card within five business days."
)
PARKING = "# Parking\n\nStaff park their cars in garage P3 on level minus two.\n"
QUESTION = "How many days do customers have to return a gadget?"


def test_every_operation_of_the_server_is_covered_with_its_method_and_path(server: str) -> None:
    document = httpx.get(f"{server}/openapi.json").json()
    served = {
        op["operationId"]: (method.upper(), path)
        for path, ops in document["paths"].items()
        for method, op in ops.items()
    }
    # Explicit, stable ids: FastAPI's generated ones look like "list_documents_v1_documents_get".
    generated = [op for op in served if "_v1_" in op or not op.replace("_", "").isalnum()]
    assert generated == [], f"operations without an explicit operation_id: {generated}"
    missing = sorted(set(served) - set(ROUTES) - set(NOT_COVERED))
    assert missing == [], f"operations without an SDK method: {missing}"
    assert {op: served.get(op) for op in ROUTES} == ROUTES


def test_the_client_imports_without_the_server_stack() -> None:
    code = (
        "import sys, ragaas.client\n"
        "heavy = {'sqlalchemy', 'torch', 'fastapi', 'procrastinate', 'numpy', 'celpy'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


# --- the whole flow, sync ----------------------------------------------------------------------


def test_sync_bootstrap_ingest_search_ask_feedback_analytics(
    server: str, org: Org, tmp_path: Path
) -> None:
    started = datetime.now(UTC) - timedelta(minutes=1)
    parking = tmp_path / "parking.md"
    parking.write_text(PARKING)
    with Ragaas(server, org.api_key) as client:
        assert client.health() == {"status": "ok"}
        assert client.ready() == {"status": "ready"}
        me = client.auth.me()
        assert (str(me.organization_id), me.role) == (org.organization_id, "admin")
        quota = client.quota()  # the defaults: unlimited, nothing used yet
        assert (quota.documents.limit, quota.documents.usage) == (0, 0)

        text = client.documents.create(
            "Refund policy", REFUNDS, labels=["policy"], external_id="refunds",
            metadata={"team": "support"},
        )  # fmt: skip
        assert (text.status, text.duplicate, text.labels) == ("queued", False, ["policy"])
        upload = client.documents.upload(parking, labels=["handbook"], metadata={"floor": -2})
        assert (upload.filename, upload.content_type) == ("parking.md", "text/markdown")
        ready = client.documents.wait_until_ready(str(text.id), timeout=120)
        assert ready.status == "ready"
        assert ready.chunk_count >= 1
        assert client.documents.wait_until_ready(str(upload.id), timeout=120).metadata == {
            "floor": -2
        }
        again = client.documents.create(
            "Refund policy", REFUNDS, labels=["policy"], external_id="refunds"
        )
        assert again.duplicate
        assert again.id == text.id

        listed = client.documents.list(labels=["policy"])
        assert [d.id for d in listed.items] == [text.id]
        assert listed.total == 1
        assert {d.id for d in client.documents.iterate(page_size=1)} == {text.id, upload.id}
        assert client.documents.list(status="ready", title="Parking").items[0].id == upload.id
        chunks = client.documents.chunks(str(text.id))
        assert "45 days" in chunks[0].content
        assert chunks[0].embedded

        found = client.search(QUESTION, top_k=2, mode="hybrid")
        assert found.results[0].title == "Refund policy"
        assert found.mode == "hybrid"
        lexical = client.search("garage", mode="lexical", filters={"labels": ["handbook"]})
        assert [r.document_id for r in lexical.results] == [upload.id]

        answer = client.chat(QUESTION, filters={"labels": ["policy"]})
        assert answer.answer == LLM_REPLY
        assert [(c.n, c.title, c.external_id) for c in answer.citations] == [
            (1, "Refund policy", "refunds")
        ]

        with client.chat_stream(QUESTION, filters={"labels": ["policy"]}) as stream:
            deltas = list(stream)
        assert len(deltas) > 3
        assert "".join(deltas) == LLM_REPLY == stream.text
        assert stream.result.answer == LLM_REPLY
        assert stream.result.citations[0].title == "Refund policy"
        streamed_id = str(stream.result.query_id)

        rated = client.queries.feedback(str(answer.query_id), 2, "too short")
        assert (rated.rating, rated.feedback_comment) == (2, "too short")
        detail = client.queries.get(streamed_id)
        assert (detail.kind, detail.answer) == ("chat", LLM_REPLY)
        assert detail.citations[0]["title"] == "Refund policy"
        history = client.queries.list(kind="chat", since=started)
        assert {str(q.id) for q in history.items} == {str(answer.query_id), streamed_id}
        assert client.queries.list(rating=2).items[0].id == answer.query_id

        analytics = client.analytics
        volume = analytics.volume(since=started, interval="hour")
        assert sum(r.chat for r in volume) == 2
        assert sum(r.search for r in volume) == 2
        assert {r.stage for r in analytics.latency()} >= {"generate_ms", "retrieve_ms"}
        usage = analytics.usage(group_by="model")
        assert [(r.group, r.queries) for r in usage if r.group == "sdk-model"] == [("sdk-model", 2)]
        assert analytics.top_queries(limit=1)[0].query == QUESTION.lower()
        assert analytics.lowest_rated()[0].feedback_comment == "too short"
        cited = analytics.cited_documents()
        assert [(r.title, r.answers) for r in cited] == [("Refund policy", 2)]
        assert [r.document_id for r in analytics.uncited_documents()] == [upload.id]
        assert analytics.no_results() == []
        assert analytics.guardrails() == []
        csv = analytics.csv("lowest-rated", since=started)
        assert csv.splitlines()[0].startswith("id,created_at,query,answer,rating")
        assert "too short" in csv
        assert "sdk-model" in analytics.csv("usage", group_by="model")

        client.documents.delete(str(upload.id))
        with pytest.raises(NotFoundError):
            client.documents.get(str(upload.id))
        deleted = client.audit(action="document.delete", object_id=str(upload.id))
        assert [e["action"] for e in deleted["items"]] == ["document.delete"]
        assert client.audit(action="analytics.export")["total"] >= 2  # the two CSVs above


# --- the whole flow, async ---------------------------------------------------------------------


async def test_async_bootstrap_ingest_search_ask_feedback_analytics(server: str, org: Org) -> None:
    async with AsyncRagaas(server, org.api_key) as client:
        assert await client.health() == {"status": "ok"}
        assert str((await client.auth.me()).user_id) == org.user_id
        created = await client.documents.create("Refund policy", REFUNDS, labels=["policy"])
        upload = await client.documents.upload(PARKING.encode(), filename="parking.md")
        await client.documents.wait_until_ready(str(created.id), timeout=120)
        await client.documents.wait_until_ready(str(upload.id), timeout=120)
        assert [d.id async for d in client.documents.iterate(status="ready", page_size=1)] == [
            upload.id,
            created.id,
        ]
        assert len(await client.documents.chunks(str(upload.id))) == 1

        found = await client.search(QUESTION, top_k=1)
        assert [r.document_id for r in found.results] == [created.id]
        answer = await client.chat(QUESTION, filters={"labels": ["policy"]}, top_k=2)
        assert answer.answer == LLM_REPLY
        assert answer.citations[0].document_id == created.id

        deltas = []
        async with client.chat_stream(QUESTION, filters={"labels": ["policy"]}) as stream:
            async for text in stream:
                deltas.append(text)
        assert len(deltas) > 3
        assert "".join(deltas) == LLM_REPLY
        assert stream.result.citations[0].document_id == created.id
        # Without a context manager: iterate to the end, the connection is released.
        result = await client.chat_stream(QUESTION).until_done()
        assert result.answer == LLM_REPLY

        await client.queries.feedback(str(result.query_id), 5)
        assert (await client.queries.get(str(result.query_id))).rating == 5
        assert (await client.queries.list(kind="chat")).total == 3
        assert (await client.queries.list(kind="search")).total == 1
        assert sum(r.total for r in await client.analytics.volume()) == 4
        assert (await client.analytics.lowest_rated())[0].rating == 5
        assert (await client.analytics.cited_documents())[0].document_id == created.id
        csv = await client.analytics.csv("volume")
        assert csv.splitlines()[0] == "bucket,total,search,chat,blocked"

        await client.documents.delete(str(created.id))
        with pytest.raises(NotFoundError):
            await client.documents.chunks(str(created.id))


# --- users, keys, login ------------------------------------------------------------------------


def test_users_api_keys_and_login(server: str, org: Org) -> None:
    with Ragaas(server, org.api_key) as admin:
        ana = admin.users.create(f"ana-{uuid.uuid4().hex[:6]}@x.test", PASSWORD, role="analyst")
        assert (ana.role, ana.groups, ana.active) == ("analyst", [], True)
        changed = admin.users.update(str(ana.id), role="developer", groups=["hr"])
        assert (changed.role, changed.groups) == ("developer", ["hr"])
        assert {u.email for u in admin.users.list()} == {org.email, ana.email}

        expires = datetime.now(UTC) + timedelta(days=1)
        key = admin.api_keys.create("reader", ["data:read"], expires_at=expires)
        assert key.key.startswith("rg_")
        assert key.scopes == ["data:read"]
        assert str(key.id) in {str(k.id) for k in admin.api_keys.list()}
        with Ragaas(server, key.key) as reader:
            assert reader.documents.list().total == 0
            assert admin.api_keys.revoke(str(key.id)).revoked_at is not None
            with pytest.raises(AuthenticationError):
                reader.documents.list()

    with Ragaas(server, api_key="") as anonymous:
        tokens = anonymous.auth.login(org.email, PASSWORD)
        assert tokens.token_type == "bearer"
        assert tokens.expires_in > 0
        renewed = anonymous.auth.refresh(tokens.refresh_token)
        with pytest.raises(AuthenticationError):
            anonymous.auth.me()
    with Ragaas(server, renewed.access_token) as by_token:
        assert by_token.auth.me().api_key_id is None
        with pytest.raises(PermissionDeniedError, match="current password is wrong"):
            by_token.auth.change_password("not the password", "a new long passphrase")
        with pytest.raises(ValidationError, match="password: must have at least 12"):
            by_token.auth.change_password(PASSWORD, "too short")
        by_token.auth.logout(renewed.refresh_token)
        with pytest.raises(AuthenticationError, match="revoked"):
            by_token.auth.refresh(renewed.refresh_token)


def test_configuration_from_environment(
    server: str, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAGAAS_URL", server + "/")
    monkeypatch.setenv("RAGAAS_API_KEY", org.api_key)
    with Ragaas() as client:
        assert client.base_url == server
        assert str(client.auth.me().organization_id) == org.organization_id
    with Ragaas(api_key="rg_not-a-key") as explicit, pytest.raises(AuthenticationError):
        explicit.auth.me()


# --- configs, rules, data sources --------------------------------------------------------------


async def test_rag_configs_and_rules(server: str, org: Org) -> None:
    async with AsyncRagaas(server, org.api_key) as client:
        created = await client.rag_configs.create("precise", {"top_k": 3, "mode": "dense"})
        assert (created.version, created.params.top_k, created.is_default) == (1, 3, False)
        updated = await client.rag_configs.update("precise", {"top_k": 2}, is_default=True)
        assert (updated.version, updated.params.mode, updated.is_default) == (2, None, True)
        assert (await client.rag_configs.get("precise")).params.top_k == 2
        assert [v.version for v in await client.rag_configs.versions("precise")] == [2, 1]
        assert [c.name for c in await client.rag_configs.list()] == ["precise"]

        rule = await client.rules.create(
            "no salaries", "guardrail", 'query.contains("salary")',
            {"type": "block", "message": "Ask HR about salaries."},
        )  # fmt: skip
        assert (rule.stage, rule.priority, rule.active) == ("before_retrieval", 100, True)
        dry = await client.rules.test("what is the CEO salary?")
        assert (dry.blocked, dry.message) == (True, "Ask HR about salaries.")
        assert [f["name"] for f in dry.fired] == ["no salaries"]
        assert not (await client.rules.test("refunds?")).blocked
        blocked = await client.chat("What is my salary?")
        assert (blocked.blocked, blocked.answer) == (True, "Ask HR about salaries.")
        hits = await client.analytics.guardrails()
        assert [(h.name, h.hits, h.blocked) for h in hits] == [("no salaries", 1, 1)]

        paused = await client.rules.update(str(rule.id), active=False, priority=5)
        assert (paused.active, paused.priority) == (False, 5)
        assert (await client.rules.get(str(rule.id))).active is False
        assert not (await client.rules.test("what is the CEO salary?")).blocked
        assert [r.id for r in await client.rules.list()] == [rule.id]
        await client.rules.delete(str(rule.id))
        await client.rag_configs.delete("precise")
        assert await client.rules.list() == []
        assert await client.rag_configs.list() == []


def test_data_sources_sync_a_folder(server: str, org: Org, settings: Settings) -> None:
    folder = settings.source_folder_roots[0] / f"sdk-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    (folder / "refunds.md").write_text(REFUNDS)
    (folder / "parking.md").write_text(PARKING)
    with Ragaas(server, org.api_key) as client:
        assert "file" in {t.type for t in client.data_sources.types()}
        source = client.data_sources.create(
            "Handbook", "file", {"path": str(folder), "pattern": "*.md"}, labels=["handbook"]
        )
        assert (source.type, source.labels, source.document_count) == ("file", ["handbook"], 0)
        run = client.data_sources.sync(str(source.id))
        finished = client.data_sources.wait_for_run(str(source.id), str(run.id), timeout=120)
        assert finished.status == "succeeded", finished.errors
        assert finished.counts.get("added") == 2, finished.counts
        assert [r.id for r in client.data_sources.runs(str(source.id), limit=5)] == [run.id]
        documents = client.documents.list(data_source_id=str(source.id))
        assert {d.external_id for d in documents.items} == {"refunds.md", "parking.md"}

        renamed = client.data_sources.update(
            str(source.id), name="Staff handbook", cron="0 * * * *"
        )
        assert (renamed.name, renamed.cron) == ("Staff handbook", "0 * * * *")
        assert renamed.next_sync_at is not None
        assert client.data_sources.get(str(source.id)).document_count == 2
        assert [s.id for s in client.data_sources.list()] == [source.id]
        client.data_sources.delete(str(source.id))
        with pytest.raises(NotFoundError):
            client.data_sources.get(str(source.id))


# --- alerts ------------------------------------------------------------------------------------


async def test_alerts_with_a_webhook_test_delivery(server: str, org: Org) -> None:
    received: list[dict[str, object]] = []
    hook = FastAPI()

    @hook.post("/hook")
    async def receive(body: dict[str, object]) -> dict[str, str]:
        received.append(body)
        return {"ok": "yes"}

    secret = "sdk-webhook-secret-0123456789"
    with serve_in_thread(hook) as hook_url, Ragaas(server, org.api_key) as client:
        alert = client.alerts.create(
            "bad answers", "low_rating", threshold=2,
            webhook={"url": f"{hook_url}/hook", "secret": secret},
        )  # fmt: skip
        assert (alert.kind, alert.threshold, alert.active) == ("low_rating", 2.0, True)
        assert alert.webhook is not None
        assert alert.webhook.secret == "********"
        deliveries = client.alerts.test(str(alert.id))
        assert [(d.channel, d.status, d.test) for d in deliveries] == [("webhook", "sent", True)]
        assert len(received) == 1
        log = client.alerts.deliveries(str(alert.id), status="sent")
        assert [d.id for d in log.items] == [deliveries[0].id]
        assert client.alerts.deliveries(str(alert.id), status="failed").total == 0

        paused = client.alerts.update(str(alert.id), active=False, threshold=1)
        assert (paused.active, paused.threshold) == (False, 1.0)
        assert paused.webhook is not None  # not sent: kept
        with pytest.raises(ValidationError, match="needs a channel"):  # null: clear the webhook
            client.alerts.update(str(alert.id), webhook=None)
        with pytest.raises(ValidationError):
            client.alerts.update(str(alert.id), rule_name="not for low_rating")
    async with AsyncRagaas(server, org.api_key) as aclient:
        assert [a.id for a in await aclient.alerts.list()] == [alert.id]
        assert (await aclient.alerts.get(str(alert.id))).name == "bad answers"
        await aclient.alerts.delete(str(alert.id))
        with pytest.raises(NotFoundError):
            await aclient.alerts.get(str(alert.id))


# --- errors ------------------------------------------------------------------------------------


def test_each_http_failure_maps_to_its_exception(server: str, org: Org) -> None:
    with Ragaas(server, "rg_wrong-key") as stranger, pytest.raises(AuthenticationError) as e401:
        stranger.search("anything")
    assert (e401.value.status, e401.value.title) == (401, "Not authenticated")
    assert e401.value.detail
    assert isinstance(e401.value, RagaasError)

    with Ragaas(server, org.api_key) as client:
        narrow = client.api_keys.create("query only", ["query"])
        with Ragaas(server, narrow.key) as limited, pytest.raises(PermissionDeniedError) as e403:
            limited.documents.create("T", "text")
        assert e403.value.status == 403
        assert "data:write" in e403.value.detail

        missing = str(uuid.uuid4())
        with pytest.raises(NotFoundError) as e404:
            client.documents.get(missing)
        assert e404.value.status == 404
        assert missing in e404.value.detail

        client.rag_configs.create("twice")
        with pytest.raises(ConflictError) as e409:
            client.rag_configs.create("twice")
        assert e409.value.status == 409
        assert "twice" in e409.value.detail

        with pytest.raises(ValidationError) as e422:
            client.search("", top_k=0)
        assert e422.value.status == 422
        assert e422.value.title == "Validation failed"
        assert {tuple(e["loc"]) for e in e422.value.errors} == {
            ("body", "query"),
            ("body", "top_k"),
        }

        # The LLM is only asked when something was retrieved.
        refunds = client.documents.create("Refund policy", REFUNDS)
        client.documents.wait_until_ready(str(refunds.id), timeout=120)
        client.rag_configs.create("broken llm", {"llm_model": BROKEN_MODEL})
        with pytest.raises(ServerError) as e502:
            client.chat(QUESTION, config="broken llm")
        assert e502.value.status == 502
        assert "HTTP 500" in e502.value.detail
        with pytest.raises(ServerError) as streamed:
            for _ in client.chat_stream(QUESTION, config="broken llm"):
                pass
        assert streamed.value.status == 502
        assert "overloaded" in streamed.value.detail

        broken = client.documents.upload(b"%PDF-1.7 this is no pdf", filename="broken.pdf")
        with pytest.raises(IngestionError) as failed:
            client.documents.wait_until_ready(str(broken.id), timeout=120)
        assert failed.value.document.status == "failed"
        assert failed.value.document.error


def test_a_rate_limit_answer_maps_to_rate_limit_error() -> None:
    # Ragaas itself does not rate-limit; a proxy in front of it (or a future limit) answers 429.
    app = FastAPI()

    @app.get("/health")
    async def limited() -> JSONResponse:
        body = {"type": "about:blank", "title": "Too many requests", "status": 429,
                "detail": "slow down: 10 requests per second"}  # fmt: skip
        headers = {"Retry-After": "7"}
        return JSONResponse(body, 429, headers, media_type="application/problem+json")

    with (
        serve_in_thread(app) as url,
        Ragaas(url, "rg_x") as client,
        pytest.raises(RateLimitError) as e429,
    ):
        client.health()
    assert (e429.value.status, e429.value.retry_after) == (429, 7.0)
    assert e429.value.detail == "slow down: 10 requests per second"


async def test_async_errors_and_an_unreachable_server(server: str) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with Ragaas(url, "rg_x") as client, pytest.raises(ConnectionError) as down:
        client.health()
    assert down.value.status is None
    assert url in str(down.value)
    assert isinstance(down.value, builtins.ConnectionError)
    async with AsyncRagaas(url, "rg_x") as client:
        with pytest.raises(ConnectionError):
            await client.health()
        with pytest.raises(ConnectionError):
            await client.chat_stream("anything").until_done()
    async with AsyncRagaas(server, "rg_wrong") as client:
        with pytest.raises(AuthenticationError):
            await client.documents.list()
        with pytest.raises(AuthenticationError):
            async for _ in client.chat_stream("anything"):
                pass
