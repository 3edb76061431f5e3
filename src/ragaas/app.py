"""The FastAPI application factory and its lifespan (runtime, in-process worker)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from starlette.routing import Route

from ragaas import __version__
from ragaas.api import router
from ragaas.cache.ratelimit import RateLimitMiddleware
from ragaas.errors import install_error_handlers
from ragaas.generation.service import Answerer
from ragaas.jobs.supervisor import run_supervised
from ragaas.kit.heap import freeze_startup_objects
from ragaas.kit.logs import configure_logging
from ragaas.mcp.http import PATH as MCP_PATH
from ragaas.mcp.http import McpEndpoint
from ragaas.mcp.services import Services
from ragaas.observability import install_observability
from ragaas.openapi import install_problem_openapi
from ragaas.retrieval.service import make_searcher
from ragaas.runtime import Runtime, build_runtime
from ragaas.security.bodylimit import BodyLimitMiddleware
from ragaas.settings import Settings, get_settings
from ragaas.webui import mount_web_ui

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    """The API; pass a ready ``runtime`` to share one (tests), else it is built at startup."""
    settings = settings or get_settings()
    mcp = McpEndpoint()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = runtime if runtime is not None else await asyncio.to_thread(build_runtime, settings)
        _attach(app, rt)
        freeze_startup_objects()
        worker = await _start_worker(rt) if settings.workers_in_process else None
        preload = asyncio.create_task(_preload_lexical(app, rt))
        try:
            async with mcp.running(_mcp_services(app)):
                yield
        finally:
            preload.cancel()
            if worker is not None:
                await _stop_worker(rt, worker)
            if runtime is None:
                await rt.close()

    app = FastAPI(
        title="Ragaas",
        version=__version__,
        description="Multi-tenant retrieval-augmented generation over your organisation's data.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    install_problem_openapi(app)  # the problem responses each operation can give
    app.include_router(router)
    # Body size limits inside the rate limit, so a refused caller's body is never read.
    app.add_middleware(BodyLimitMiddleware)  # RAGAAS_MAX_REQUEST_BODY_BYTES, docs/security.md
    app.add_middleware(RateLimitMiddleware)  # RAGAAS_(ORG_)RATE_LIMIT_PER_MINUTE, GCRA
    install_observability(app, settings)  # /metrics, request metrics, tracing: docs/operations.md
    # The MCP server over streamable HTTP (docs/mcp.md), authenticated like the REST API.
    app.router.routes.append(Route(MCP_PATH, mcp, methods=["GET", "POST", "DELETE"]))
    mount_web_ui(app)  # the built React UI at / (docs/web-ui.md); API paths never reach it
    return app


def app_from_environment() -> FastAPI:
    """The app of one of ``ragaas serve --processes N``'s processes (settings from RAGAAS_*)."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    return create_app(settings)


def _attach(app: FastAPI, rt: Runtime) -> None:
    state = app.state
    state.runtime = rt
    state.settings = rt.settings
    state.sessionmaker = rt.sessionmaker
    state.jwt_keys = rt.settings.resolved_jwt_keys()  # verify all, sign with the newest
    state.jwt_secret = state.jwt_keys.current[1]  # the newest key (SSO seals its state with it)
    state.tenant_sessionmaker = rt.request_sessionmaker
    state.searcher = make_searcher(rt)
    state.answerer = Answerer(state.searcher, rt.chat_model, rt.settings)


async def _preload_lexical(app: FastAPI, rt: Runtime) -> None:
    """Large organisations' in-memory BM25 indexes, built in the background at start."""
    indexes = app.state.searcher.lexical_index
    if indexes is None:
        return
    try:
        async with rt.sessionmaker() as session:
            await indexes.preload(session)
    except Exception:  # the SQL keeps answering; searches rebuild on demand
        log.exception("preloading the in-memory BM25 indexes failed")


def _mcp_services(app: FastAPI) -> Services:
    state = app.state
    return Services(state.runtime, state.searcher, state.answerer, state.jwt_keys)


async def _start_worker(rt: Runtime) -> asyncio.Task[None]:
    await rt.jobs.open_async()
    log.info("starting an in-process job worker")
    # Supervised: restarted when a database outage stops it (ragaas.jobs.supervisor).
    return asyncio.create_task(run_supervised(rt.jobs, concurrency=rt.settings.worker_concurrency))


async def _stop_worker(rt: Runtime, worker: asyncio.Task[None]) -> None:
    worker.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await worker
    await rt.jobs.close_async()
