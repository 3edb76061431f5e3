"""OpenTelemetry tracing, on only when RAGAAS_OTEL_ENDPOINT names an OTLP/HTTP collector.

A request becomes a server span (FastAPI) with child spans for each SQL statement (SQLAlchemy) and
each outgoing HTTP call (httpx: LLM, embedding and rerank APIs, connectors). Spans leave in batches
from a background thread, so a slow or absent collector never slows a request; spans it cannot take
are dropped. The provider is this app's own (not the global one), so tests and tools that build
several apps in one process never mix their traces.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from fastapi import FastAPI
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from sqlalchemy.ext.asyncio import AsyncEngine

from ragaas import __version__
from ragaas.settings import Settings

log = logging.getLogger(__name__)

# Probes and scrapes would be most of the traces and say nothing.
EXCLUDED_URLS = "/health,/ready,/metrics"


def traces_url(endpoint: str) -> str:
    """The OTLP/HTTP traces URL for a collector base URL (or the traces URL itself)."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith("/v1/traces") else f"{endpoint}/v1/traces"


@dataclass
class Tracing:
    provider: TracerProvider
    _clients_instrumented: bool = False

    def start(self, engine: AsyncEngine) -> None:
        """Trace the database engine's statements and outgoing httpx calls."""
        # The instrumentation declares SQLAlchemy < 2.1; its engine events work with 2.1 (tested).
        SQLAlchemyInstrumentor().instrument(
            engine=engine.sync_engine, tracer_provider=self.provider, skip_dep_check=True
        )
        HTTPXClientInstrumentor().instrument(tracer_provider=self.provider)
        self._clients_instrumented = True

    def force_flush(self, timeout_millis: int = 10_000) -> bool:
        """Export the spans still buffered (tests; shutdown does it too)."""
        return self.provider.force_flush(timeout_millis)

    def shutdown(self) -> None:
        """Stop tracing clients and export what is left."""
        if self._clients_instrumented:
            HTTPXClientInstrumentor().uninstrument()
            SQLAlchemyInstrumentor().uninstrument()
            self._clients_instrumented = False
        self.provider.shutdown()


def install_tracing(app: FastAPI, settings: Settings) -> Tracing | None:
    """Instrument ``app`` when an OTLP endpoint is configured; None otherwise."""
    if not settings.otel_endpoint:
        return None
    resource = Resource.create(
        {"service.name": settings.otel_service_name, "service.version": __version__}
    )
    provider = TracerProvider(resource=resource)
    exporter = OTLPSpanExporter(endpoint=traces_url(settings.otel_endpoint), timeout=10)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=provider,
        excluded_urls=EXCLUDED_URLS,
        exclude_spans=["receive", "send"],
    )
    log.info("tracing to %s", traces_url(settings.otel_endpoint))
    return Tracing(provider)
