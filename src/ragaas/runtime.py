"""The process-wide services (database, providers, job queue) shared by the API and the worker."""

from __future__ import annotations

import contextlib
import logging
import uuid
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass

import procrastinate
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ragaas.cache.link import RedisLink
from ragaas.db import database_url, libpq_url, make_engine, make_sessionmaker
from ragaas.jobs.queue import make_job_app
from ragaas.observability.metrics import MeteredEmbedder, job_metrics
from ragaas.providers.blobstore.base import BlobStore
from ragaas.providers.blobstore.registry import make_blob_store
from ragaas.providers.embeddings.base import Embedder
from ragaas.providers.embeddings.registry import make_embedder, make_query_embedder
from ragaas.providers.llm.base import ChatModel
from ragaas.providers.llm.registry import make_chat_model
from ragaas.providers.rerank.base import Reranker
from ragaas.providers.rerank.registry import make_reranker
from ragaas.settings import Settings
from ragaas.tenancy import scope

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    url: str
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    embedder: Embedder  # passages (ingestion)
    chat_model: ChatModel | None
    blobs: BlobStore
    jobs: procrastinate.App
    reranker: Reranker | None = None
    redis: RedisLink | None = None  # RAGAAS_REDIS_URL: shared caches and rate limits
    # API requests: the restricted role, bound by row-level security (tenancy/scope.py).
    tenant_engine: AsyncEngine | None = None
    tenant_sessionmaker: async_sessionmaker[AsyncSession] | None = None
    query_embedder: Embedder | None = None  # search queries; None: ``embedder``

    @property
    def queries(self) -> Embedder:
        """The embedder for search queries (RAGAAS_EMBEDDING_QUERY_ENCODER)."""
        return self.query_embedder or self.embedder

    @property
    def request_sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        """Sessions for requests: the restricted role; hand-built runtimes without a tenant
        engine (some tests) serve requests as the owner."""
        return self.tenant_sessionmaker or self.sessionmaker

    @contextlib.asynccontextmanager
    async def tenant_session(self, organization_id: uuid.UUID) -> AsyncIterator[AsyncSession]:
        """A session as the restricted role, scoped to one organisation (row-level security)."""
        async with self.request_sessionmaker() as session:
            await scope.scope_session(session, organization_id)
            yield session

    async def close(self) -> None:
        """Release connections."""
        await self.engine.dispose()
        if self.tenant_engine is not None:
            await self.tenant_engine.dispose()
        if self.redis is not None:
            await self.redis.close()


# Each bound job app knows the runtime it serves, so two runtimes in one process (tests, tools)
# never run each other's jobs with the wrong database or providers.
_by_job_app: weakref.WeakKeyDictionary[procrastinate.App, Runtime] = weakref.WeakKeyDictionary()


def build_runtime(settings: Settings) -> Runtime:
    """Create the services from settings (starting the embedded database if no URL is set)."""
    url = database_url(settings)
    engine = make_engine(url)
    api_key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    passages = MeteredEmbedder(make_embedder(settings))
    queries = make_query_embedder(settings, passages)
    runtime = Runtime(
        settings=settings,
        url=url,
        engine=engine,
        sessionmaker=make_sessionmaker(engine),
        embedder=passages,
        query_embedder=MeteredEmbedder(queries) if queries is not passages else None,
        chat_model=make_chat_model(
            settings.effective_llm_provider(),
            base_url=settings.llm_base_url,
            model=settings.llm_model,
            api_key=api_key,
            timeout=settings.llm_timeout_seconds,
        ),
        blobs=make_blob_store(settings),
        jobs=_metered(make_job_app(libpq_url(url))),
        reranker=make_reranker(settings),
        redis=RedisLink(settings.redis_url) if settings.redis_url else None,
    )
    runtime.tenant_engine = scope.tenant_engine(settings, url)
    runtime.tenant_sessionmaker = scope.tenant_sessionmaker(runtime.tenant_engine)
    _by_job_app[runtime.jobs] = runtime
    return runtime


def new_job_app(runtime: Runtime) -> procrastinate.App:
    """Another job app (own connection pool) whose jobs run with ``runtime``."""
    app = _metered(make_job_app(libpq_url(runtime.url)))
    _by_job_app[app] = runtime
    return app


def _metered(app: procrastinate.App) -> procrastinate.App:
    """Every worker of ``app`` counts and times its jobs (Prometheus)."""
    app.worker_defaults["worker_middleware"] = [job_metrics]
    return app


def runtime_for(job_app: procrastinate.App) -> Runtime:
    """The runtime whose job app is running a job; tasks use it to reach the database."""
    try:
        return _by_job_app[job_app]
    except KeyError:
        raise RuntimeError("this job app was not built by build_runtime") from None
