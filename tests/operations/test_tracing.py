"""OpenTelemetry: with RAGAAS_OTEL_ENDPOINT set, requests are exported over OTLP/HTTP to a real
receiver, with SQL and outgoing HTTP (LLM) spans inside the request's trace."""

from __future__ import annotations

import dataclasses
import gzip
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from ragaas.app import create_app
from ragaas.providers.llm.openai_compatible import OpenAICompatibleChat
from ragaas.runtime import Runtime
from ragaas.settings import Settings
from tests.conftest import Tenant, serve_in_thread, wait_for_document
from tests.llm_double import RecordingLLM


@dataclass
class Received:
    service: str
    name: str
    kind: int
    trace_id: bytes
    attributes: dict[str, Any]


@dataclass
class OtlpReceiver:
    """The traces half of an OpenTelemetry collector's OTLP/HTTP receiver (protobuf)."""

    spans: list[Received] = field(default_factory=list)
    posts: int = 0

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/traces")
        async def traces(request: Request) -> Response:
            body = await request.body()
            if request.headers.get("content-encoding") == "gzip":
                body = gzip.decompress(body)
            message = ExportTraceServiceRequest()
            message.ParseFromString(body)
            self.posts += 1
            for resource_spans in message.resource_spans:
                resource = _attributes(resource_spans.resource.attributes)
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        self.spans.append(
                            Received(
                                resource.get("service.name", ""),
                                span.name,
                                span.kind,
                                span.trace_id,
                                _attributes(span.attributes),
                            )
                        )
            reply = ExportTraceServiceResponse().SerializeToString()
            return Response(reply, media_type="application/x-protobuf")

        return app


def _attributes(items: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        value = item.value
        kind = value.WhichOneof("value")
        out[item.key] = getattr(value, kind) if kind else None
    return out


async def test_requests_are_traced_with_their_sql_and_llm_calls(
    client: httpx.AsyncClient,
    settings: Settings,
    runtime: Runtime,
    tenant: Tenant,
    recording_llm: tuple[RecordingLLM, str],
) -> None:
    receiver = OtlpReceiver()
    model = OpenAICompatibleChat(base_url=recording_llm[1], model="base-model", api_key="k")
    with serve_in_thread(receiver.app()) as collector:
        updates = {"workers_in_process": False, "otel_endpoint": collector}
        app_settings = settings.model_copy(update={**updates, "otel_service_name": "ragaas-t"})
        app = create_app(app_settings, dataclasses.replace(runtime, chat_model=model))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://ops.test") as c:
                body = {"title": "Parking", "text": "Staff park in garage P3."}
                created = await c.post("/v1/documents", json=body, headers=tenant.headers)
                await wait_for_document(c, tenant.headers, created.json()["id"])
                assert (await c.get("/health")).status_code == 200
                question = {"query": "Where do staff park?"}
                answer = await c.post("/v1/chat", json=question, headers=tenant.headers)
                assert answer.status_code == 200, answer.text
            assert app.state.tracing.force_flush()
        await model.aclose()
        # Shut down with the app: clients are no longer traced.
        assert not SQLAlchemyInstrumentor().is_instrumented_by_opentelemetry
        assert not HTTPXClientInstrumentor().is_instrumented_by_opentelemetry

    assert receiver.posts >= 1
    assert {s.service for s in receiver.spans} == {"ragaas-t"}
    chats = [s for s in receiver.spans if s.name == "POST /v1/chat"]
    assert len(chats) == 1, sorted({s.name for s in receiver.spans})
    assert chats[0].kind == Span.SPAN_KIND_SERVER
    in_trace = [s for s in receiver.spans if s.trace_id == chats[0].trace_id]
    sql = [s for s in in_trace if s.attributes.get("db.system") == "postgresql"]
    sql += [s for s in in_trace if s.attributes.get("db.system.name") == "postgresql"]
    assert sql, sorted({s.name for s in in_trace})
    llm_calls = [
        s
        for s in in_trace
        if s.kind == Span.SPAN_KIND_CLIENT
        and "/v1/chat/completions"
        in str(s.attributes.get("url.full", s.attributes.get("http.url")))
    ]
    assert len(llm_calls) == 1, [(s.name, s.attributes) for s in in_trace]
    assert not [s for s in receiver.spans if "/health" in s.name]  # probes are not traced


async def test_no_tracing_without_an_endpoint(settings: Settings, runtime: Runtime) -> None:
    app = create_app(settings.model_copy(update={"workers_in_process": False}), runtime)
    async with app.router.lifespan_context(app):
        assert app.state.tracing is None
        assert not SQLAlchemyInstrumentor().is_instrumented_by_opentelemetry
