"""Metrics (Prometheus), tracing (OpenTelemetry) and their wiring into the app."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from ragaas.settings import Settings


def install_observability(app: FastAPI, settings: Settings) -> None:
    """Add the metrics middleware and /metrics, and tracing when an OTLP endpoint is set.

    Tracing needs the database engine, which exists only once the lifespan has built the runtime,
    so the app's lifespan is wrapped: the engine is instrumented after start-up and the spans are
    flushed at shutdown.
    """
    from ragaas.observability.middleware import MetricsMiddleware, router
    from ragaas.observability.tracing import install_tracing

    if settings.metrics_enabled:
        app.add_middleware(MetricsMiddleware)
        app.include_router(router)
    tracing = install_tracing(app, settings)
    app.state.tracing = tracing
    if tracing is None:
        return
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with inner(app):  # Ragaas's lifespan keeps its state on app.state, yields nothing
            tracing.start(app.state.runtime.engine)
            try:
                yield
            finally:
                tracing.shutdown()

    app.router.lifespan_context = lifespan
