"""Prometheus metrics: what each process counts, and what is read from PostgreSQL at scrape time.

The metrics live in prometheus_client's default registry, one per process. ``ragaas serve`` is one
process per replica (scale with replicas, not uvicorn workers), so Prometheus scrapes every replica
and sums; a separate ``ragaas worker`` exposes its job and embedding metrics on its own port
(:func:`start_worker_metrics_server`). Queue depth is read from ``procrastinate_jobs`` when
/metrics is scraped, so it is the cluster's, whichever replica answers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    start_http_server,
)
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ragaas.providers.embeddings.base import Embedder

log = logging.getLogger(__name__)
disable_created_metrics()  # type: ignore[no-untyped-call]  # *_created series add nothing

# Search and chat latencies span a millisecond (a cache hit) to a minute (an LLM answer).
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
_JOB_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)

HTTP_LATENCY = Histogram(
    "ragaas_http_request_duration_seconds",
    "HTTP requests by route template, method and status; a stream counts until its last byte.",
    ["method", "route", "status"],
    buckets=_LATENCY_BUCKETS,
)
QUERIES = Counter(
    "ragaas_queries_total",
    "Queries by kind (search, chat) and outcome (ok, blocked, no_results, error).",
    ["kind", "outcome"],
)
QUERY_STAGE = Histogram(
    "ragaas_query_stage_seconds",
    "Time per query stage (embed, lexical, dense, hydrate, rerank, generate, total, cache_hit...).",
    ["kind", "stage"],
    buckets=_LATENCY_BUCKETS,
)
JOBS = Counter(
    "ragaas_jobs_total",
    "Background jobs run by this process, by task (documents.ingest, chunks.embed, sources.sync"
    "...) and outcome (succeeded, failed).",
    ["task", "outcome"],
)
JOB_DURATION = Histogram(
    "ragaas_job_duration_seconds",
    "Background job run time, by task.",
    ["task"],
    buckets=_JOB_BUCKETS,
)
QUEUE_JOBS = Gauge(
    "ragaas_queue_jobs",
    "Jobs waiting (todo) or running (doing) in the queue, by queue; read at scrape time.",
    ["queue", "status"],
)
EMBEDDED_TEXTS = Counter("ragaas_embedded_texts_total", "Texts embedded (passages and queries).")
EMBEDDING_SECONDS = Counter(
    "ragaas_embedding_seconds_total", "Time spent in the embedding model or API."
)
QUERY_EMBEDDING_CACHE = Counter(
    "ragaas_query_embedding_cache_total",
    "Query-vector lookups: hit (in-process memory or Redis) or miss (embedded).",
    ["result"],
)
LEXICAL_INDEX_SEARCHES = Counter(
    "ragaas_lexical_index_searches_total",
    "BM25 candidate lookups: answered from the in-memory index (memory) or by the SQL (sql).",
    ["path"],
)
LEXICAL_INDEX_BUILD_SECONDS = Histogram(
    "ragaas_lexical_index_build_seconds",
    "Time to (re)build an organisation's in-memory BM25 index.",
    buckets=_JOB_BUCKETS,
)
SEARCH_CACHE = Counter(
    "ragaas_search_cache_total", "Search-result cache lookups in Redis: hit or miss.", ["result"]
)
RATE_LIMITED = Counter("ragaas_rate_limited_total", "Requests refused with 429 (rate limit).")
REDIS_UP = Gauge("ragaas_redis_up", "1 while Redis answers, 0 during an outage.")

QUEUE_STATUSES = ("todo", "doing")
KNOWN_QUEUES = ("default", "embeddings")
_QUEUE_DEPTH = text(
    "SELECT queue_name, status::text AS status, count(*) AS n FROM procrastinate_jobs "
    "WHERE status IN ('todo', 'doing') GROUP BY queue_name, status"
)
QUEUE_SCRAPE_TIMEOUT_SECONDS = 2.0


def observe_query(kind: str, metrics: dict[str, Any], blocked: bool) -> None:
    """Count a recorded query by outcome and observe its stage timings (from its metrics)."""
    found = metrics.get("results", metrics.get("retrieved"))
    outcome = "blocked" if blocked else "no_results" if found == 0 else "ok"
    QUERIES.labels(kind, outcome).inc()
    timings = metrics.get("timings_ms")
    if not isinstance(timings, dict):
        return
    for key, value in timings.items():
        if isinstance(key, str) and key.endswith("_ms") and isinstance(value, int | float):
            QUERY_STAGE.labels(kind, key[:-3]).observe(value / 1000)


def observe_query_error(kind: str) -> None:
    """A query that failed (5xx) before it could be recorded."""
    QUERIES.labels(kind, "error").inc()


class MeteredEmbedder:
    """An embedder that counts the texts it embeds and the time it takes (throughput)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dimensions = inner.dimensions

    async def embed(self, texts: list[str]) -> list[list[float]]:
        started = time.perf_counter()
        vectors = await self.inner.embed(texts)
        EMBEDDING_SECONDS.inc(time.perf_counter() - started)
        EMBEDDED_TEXTS.inc(len(texts))
        return vectors


async def job_metrics(call_next: Callable[[], Awaitable[Any]], context: Any, worker: Any) -> Any:
    """A procrastinate worker middleware: counts every job and times it, by task."""
    job = getattr(context, "job", None)
    task = getattr(job, "task_name", None) or "unknown"
    started = time.perf_counter()
    outcome = "failed"
    try:
        result = await call_next()
        outcome = "succeeded"
        return result
    finally:
        JOBS.labels(task, outcome).inc()
        JOB_DURATION.labels(task).observe(time.perf_counter() - started)


async def refresh_queue_depth(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Set the queue gauges from procrastinate_jobs (left unchanged if the database is slow)."""

    async def read() -> list[Any]:
        async with sessionmaker() as session:
            return list((await session.execute(_QUEUE_DEPTH)).all())

    try:
        rows = await asyncio.wait_for(read(), QUEUE_SCRAPE_TIMEOUT_SECONDS)
    except Exception as exc:  # a scrape must not fail because the queue could not be read
        log.warning("queue depth not read for /metrics: %s", exc)
        return
    QUEUE_JOBS.clear()
    for queue in KNOWN_QUEUES:
        for status in QUEUE_STATUSES:
            QUEUE_JOBS.labels(queue, status).set(0)
    for row in rows:
        QUEUE_JOBS.labels(row.queue_name, row.status).set(row.n)


def exposition() -> tuple[bytes, str]:
    """The text exposition of every metric of this process, and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def start_worker_metrics_server(port: int, host: str = "0.0.0.0") -> WSGIServer:  # noqa: S104
    """Serve this process's metrics on ``port`` (for `ragaas worker`, which has no API).

    A daemon thread serves it until the process ends (or the returned server is shut down).
    """
    server, _ = start_http_server(port, addr=host)
    return server
