"""The process-wide services (database, providers, job queue) shared by the API and the worker."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import procrastinate
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ragaas.db import database_url, libpq_url, make_engine, make_sessionmaker
from ragaas.jobs.queue import make_job_app
from ragaas.providers.blobstore.base import BlobStore
from ragaas.providers.blobstore.local import LocalBlobStore
from ragaas.providers.embeddings.base import Embedder
from ragaas.providers.embeddings.registry import make_embedder
from ragaas.providers.llm.base import ChatModel
from ragaas.providers.llm.registry import make_chat_model
from ragaas.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    url: str
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    embedder: Embedder
    chat_model: ChatModel | None
    blobs: BlobStore
    jobs: procrastinate.App

    async def close(self) -> None:
        """Release connections."""
        await self.engine.dispose()


_current: Runtime | None = None


def build_runtime(settings: Settings) -> Runtime:
    """Create the services from settings (starting the embedded database if no URL is set)."""
    global _current
    url = database_url(settings)
    engine = make_engine(url)
    api_key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    _current = Runtime(
        settings=settings,
        url=url,
        engine=engine,
        sessionmaker=make_sessionmaker(engine),
        embedder=make_embedder(settings),
        chat_model=make_chat_model(
            settings.effective_llm_provider(),
            base_url=settings.llm_base_url,
            model=settings.llm_model,
            api_key=api_key,
            timeout=settings.llm_timeout_seconds,
        ),
        blobs=LocalBlobStore(settings.blob_dir()),
        jobs=make_job_app(libpq_url(url)),
    )
    return _current


def current_runtime() -> Runtime:
    """The runtime this process built; jobs use it to reach the database and providers."""
    if _current is None:
        raise RuntimeError("the Ragaas runtime has not been built in this process")
    return _current
