"""Evaluate retrieval on a BEIR dataset through the real ingestion pipeline and search service.

A fresh organisation receives the corpus through ``documents.service.submit`` (what
``POST /v1/documents`` calls), job workers ingest and embed it, and every query goes through
``Searcher.search`` (what ``POST /v1/search`` calls). Nothing is shortcut, so the numbers are the
product's own: quality, ingestion throughput against the bare model, and search latency.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import numpy as np
from rich.console import Console
from rich.progress import MofNCompleteColumn, Progress, TaskID
from sqlalchemy import delete, select, text

from ragaas import migrate
from ragaas.admin import service as admin_service
from ragaas.auth.permissions import Permission
from ragaas.auth.principal import Principal
from ragaas.documents import service as documents_service
from ragaas.documents.locks import lock_for_deletion
from ragaas.errors import AppError
from ragaas.evaluation.beir import BeirDataset, BeirDocument
from ragaas.evaluation.metrics import evaluate_run, ranking_to_scores
from ragaas.ingestion.embedding import passage_text
from ragaas.models import Document, DocumentStatus, Organization
from ragaas.retrieval.schemas import SearchMode, SearchResult
from ragaas.retrieval.service import Searcher, SearchOutcome, make_searcher
from ragaas.runtime import Runtime, build_runtime, new_job_app
from ragaas.settings import Settings

T = TypeVar("T")
POLL_SECONDS = 0.5
_PENDING = (DocumentStatus.QUEUED, DocumentStatus.PROCESSING)


@dataclass
class EvalOptions:
    modes: tuple[SearchMode, ...] = (SearchMode.DENSE, SearchMode.LEXICAL, SearchMode.HYBRID)
    worker: bool = True  # False: external `ragaas worker` processes do the ingestion
    keep: bool = False  # True: leave the organisation and its documents in place
    top_k: int = 100
    batch_size: int = 200
    bare_sample: int = 512
    stall_seconds: float = 600.0
    show_progress: bool = True
    # Re-score an organisation an earlier run kept (after changing search settings): no ingestion.
    organization_id: uuid.UUID | None = None


@dataclass
class IngestionReport:
    documents: int
    ready: int
    failed: dict[str, str]  # external id -> reason
    chunks: int
    seconds: float
    # Peak resident memory of this process (API services + worker + model) during ingestion.
    peak_rss_mb: float = 0.0

    @property
    def chunks_per_second(self) -> float:
        """Chunks made searchable per second, first submit to last document ready."""
        return self.chunks / self.seconds if self.seconds > 0 else 0.0


@dataclass
class BareReport:
    passages: int
    seconds: float

    @property
    def passages_per_second(self) -> float:
        """The embedding model's own throughput on the same passages."""
        return self.passages / self.seconds if self.seconds > 0 else 0.0


@dataclass
class ModeReport:
    mode: str
    queries: int
    metrics: dict[str, float]
    latency_p50_ms: float
    latency_p95_ms: float
    stages_p50_ms: dict[str, float] = field(default_factory=dict)


@dataclass
class EvalReport:
    dataset: str
    split: str
    organization: str
    organization_id: uuid.UUID
    kept: bool
    queries: int
    ingestion: IngestionReport | None  # None when an existing organisation was re-scored
    bare: BareReport | None
    modes: list[ModeReport]

    @property
    def ingestion_ratio(self) -> float:
        """End-to-end chunks/s divided by the bare model's passages/s (1.0 = no overhead)."""
        if self.ingestion is None or self.bare is None:
            return 0.0
        bare = self.bare.passages_per_second
        return self.ingestion.chunks_per_second / bare if bare > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary, derived rates included."""
        data = asdict(self)
        data["organization_id"] = str(self.organization_id)
        if self.ingestion is not None and self.bare is not None:
            data["ingestion"]["chunks_per_second"] = self.ingestion.chunks_per_second
            data["bare"]["passages_per_second"] = self.bare.passages_per_second
            data["ingestion_ratio"] = self.ingestion_ratio
        return data


# --- entry points ---------------------------------------------------------------------------


async def run_beir(
    settings: Settings,
    dataset: BeirDataset,
    options: EvalOptions,
    *,
    runtime: Runtime | None = None,
    console: Console | None = None,
) -> EvalReport:
    """Evaluate a loaded BEIR dataset; builds (and closes) a runtime unless given one."""
    rt = runtime if runtime is not None else await asyncio.to_thread(build_runtime, settings)
    try:
        return await evaluate_dataset(rt, dataset, options, console or Console(stderr=True))
    finally:
        if runtime is None:
            await rt.close()


async def evaluate_dataset(
    rt: Runtime, dataset: BeirDataset, options: EvalOptions, console: Console
) -> EvalReport:
    """Ingest the corpus into a fresh organisation, run the queries per mode, then clean up."""
    await asyncio.to_thread(migrate.upgrade, rt.url)
    if options.organization_id is not None:
        return await rescore(rt, dataset, options, options.organization_id)
    principal, org_name = await create_eval_organization(rt, dataset.name)
    org_id = principal.organization_id
    try:
        # A running service has its model loaded: keep the one-off load out of the ingestion time.
        await rt.embedder.embed(["warm-up"])
        await rt.queries.embed(["warm-up"])
        async with running_worker(rt, options.worker) as worker:
            ingestion = await ingest_corpus(rt, principal, dataset.corpus, options, console, worker)
        bare = await bare_throughput(rt, org_id, options.bare_sample)
        modes = [await evaluate_mode(rt, org_id, dataset, mode, options) for mode in options.modes]
    finally:
        if not options.keep:
            await delete_organization(rt, org_id)
    return EvalReport(
        dataset=dataset.name,
        split=dataset.split,
        organization=org_name,
        organization_id=org_id,
        kept=options.keep,
        queries=len(dataset.queries),
        ingestion=ingestion,
        bare=bare,
        modes=modes,
    )


async def rescore(
    rt: Runtime, dataset: BeirDataset, options: EvalOptions, organization_id: uuid.UUID
) -> EvalReport:
    """Run the queries against an organisation an earlier run kept (its index as it is)."""
    async with rt.sessionmaker() as session:
        org = await session.get(Organization, organization_id)
    if org is None:
        raise AppError(f"organisation {organization_id} not found", 404)
    modes = [
        await evaluate_mode(rt, organization_id, dataset, mode, options) for mode in options.modes
    ]
    return EvalReport(
        dataset=dataset.name,
        split=dataset.split,
        organization=org.name,
        organization_id=organization_id,
        kept=True,
        queries=len(dataset.queries),
        ingestion=None,
        bare=None,
        modes=modes,
    )


# --- organisation -----------------------------------------------------------------------------


async def create_eval_organization(rt: Runtime, dataset_name: str) -> tuple[Principal, str]:
    """A new organisation with an admin; returns the admin as a principal and the org name."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    name = f"eval-{dataset_name[:100]}-{stamp}-{secrets.token_hex(2)}"
    async with rt.sessionmaker() as session:
        org, user, _ = await admin_service.bootstrap(
            session, name, f"eval@{name}.invalid", secrets.token_urlsafe(24)
        )
        await session.commit()
    return Principal(user.id, org.id, user.role, frozenset(Permission)), name


async def delete_organization(rt: Runtime, organization_id: uuid.UUID) -> None:
    """Delete the organisation (documents and chunks cascade) and its stored uploads."""
    async with rt.sessionmaker() as session:
        keys = list(
            await session.scalars(
                select(Document.blob_key).where(Document.organization_id == organization_id)
            )
        )
        await lock_for_deletion(session, Document.organization_id == organization_id)
        await session.execute(delete(Organization).where(Organization.id == organization_id))
        await session.commit()
    for key in keys:
        await rt.blobs.delete(key)


# --- ingestion --------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def running_worker(rt: Runtime, enabled: bool) -> AsyncIterator[asyncio.Task[None] | None]:
    """An in-process procrastinate worker for the duration of the block (if enabled)."""
    if not enabled:
        yield None
        return
    # Its own connector: opening or closing it never disturbs rt.jobs (an app may share it).
    jobs = new_job_app(rt)
    await jobs.open_async()
    worker = asyncio.create_task(
        jobs.run_worker_async(
            concurrency=rt.settings.worker_concurrency, install_signal_handlers=False
        )
    )
    try:
        yield worker
    finally:
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker
        await jobs.close_async()


async def ingest_corpus(
    rt: Runtime,
    principal: Principal,
    corpus: Sequence[BeirDocument],
    options: EvalOptions,
    console: Console,
    worker: asyncio.Task[None] | None,
) -> IngestionReport:
    """Submit every document and wait until none is queued or processing."""
    org_id = principal.organization_id
    rejected: dict[str, str] = {}
    with _progress(console, options.show_progress) as progress:
        submitted = progress.add_task("submitted", total=len(corpus))
        ready = progress.add_task("ready", total=len(corpus))
        show = _show_ready(progress, ready)
        started = time.perf_counter()
        for batch in _batches(corpus, options.batch_size):
            rejected.update(await submit_batch(rt, principal, batch))
            progress.advance(submitted, len(batch))
            show(await status_counts(rt, org_id))
        counts = await wait_until_processed(rt, org_id, show, options.stall_seconds, worker)
        seconds = time.perf_counter() - started
    failed = rejected | await failed_documents(rt, org_id)
    chunks = await count_chunks(rt, org_id)
    ready_count = counts.get(DocumentStatus.READY, 0)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    return IngestionReport(len(corpus), ready_count, failed, chunks, seconds, round(peak_mb, 1))


def upload_for(doc: BeirDocument) -> documents_service.Upload:
    """The upload for a BEIR document: its text as the body, its title as the title."""
    # BEIR reads a document as title + " " + text. The title is stored as the document's title
    # and the embedder prefixes it to every passage, so the body carries the text alone.
    body = doc.text.strip() or doc.title
    return documents_service.Upload(
        data=body.encode(),
        title=(doc.title or doc.doc_id)[:1000],
        content_type="text/plain",
        external_id=doc.doc_id,
    )


async def submit_batch(
    rt: Runtime, principal: Principal, batch: Sequence[BeirDocument]
) -> dict[str, str]:
    """Submit documents in one transaction; returns those refused (id -> reason)."""
    refused: dict[str, str] = {}
    async with rt.sessionmaker() as session:
        for doc in batch:
            try:
                await documents_service.submit(
                    session,
                    rt.blobs,
                    principal.organization_id,
                    upload_for(doc),
                    rt.settings.max_upload_bytes,
                )
            except AppError as exc:  # e.g. over the size limit: the rest still counts
                refused[doc.doc_id] = exc.message
        await session.commit()
    return refused


async def wait_until_processed(
    rt: Runtime,
    organization_id: uuid.UUID,
    on_counts: Callable[[dict[str, int]], None],
    stall_seconds: float,
    worker: asyncio.Task[None] | None,
) -> dict[str, int]:
    """Poll document statuses until nothing is pending; fail if progress stops for too long."""
    last: dict[str, int] = {}
    last_change = time.monotonic()
    while True:
        counts = await status_counts(rt, organization_id)
        on_counts(counts)
        if not any(counts.get(status) for status in _PENDING):
            return counts
        if worker is not None and worker.done():
            worker.result()  # re-raises the worker's error
            raise RuntimeError("the in-process worker stopped before ingestion finished")
        if counts != last:
            last, last_change = counts, time.monotonic()
        elif time.monotonic() - last_change > stall_seconds:
            raise RuntimeError(f"ingestion made no progress for {stall_seconds:.0f}s: {counts}")
        await asyncio.sleep(POLL_SECONDS)


_STATUS_COUNTS = text(
    "SELECT status, count(*) AS n FROM documents WHERE organization_id = :org GROUP BY status"
)
_FAILED = text(
    "SELECT external_id, error FROM documents WHERE organization_id = :org AND status = 'failed'"
)
_CHUNKS = text("SELECT count(*) FROM chunks WHERE organization_id = :org")
# A deterministic sample spread over the whole corpus (not only its first documents).
_SAMPLE = text(
    "SELECT c.content, d.title FROM chunks c JOIN documents d ON d.id = c.document_id "
    "WHERE c.organization_id = :org ORDER BY md5(CAST(c.id AS text)) LIMIT :n"
)


async def status_counts(rt: Runtime, organization_id: uuid.UUID) -> dict[str, int]:
    """How many of the organisation's documents are in each status."""
    async with rt.sessionmaker() as session:
        rows = (await session.execute(_STATUS_COUNTS, {"org": organization_id})).all()
    return {str(r.status): int(r.n) for r in rows}


async def failed_documents(rt: Runtime, organization_id: uuid.UUID) -> dict[str, str]:
    """Failed documents of the organisation: external id -> reason."""
    async with rt.sessionmaker() as session:
        rows = (await session.execute(_FAILED, {"org": organization_id})).all()
    return {str(r.external_id): str(r.error) for r in rows}


async def count_chunks(rt: Runtime, organization_id: uuid.UUID) -> int:
    """How many chunks the organisation's documents were split into."""
    async with rt.sessionmaker() as session:
        return int(await session.scalar(_CHUNKS, {"org": organization_id}) or 0)


# --- bare model throughput --------------------------------------------------------------------


async def bare_throughput(rt: Runtime, organization_id: uuid.UUID, sample: int) -> BareReport:
    """Embed a sample of the stored chunks directly with the runtime's embedder."""
    async with rt.sessionmaker() as session:
        rows = (await session.execute(_SAMPLE, {"org": organization_id, "n": sample})).all()
    # Exactly what the embedding job embeds for these chunks.
    passages = [passage_text(r.title, r.content) for r in rows]
    if not passages:
        return BareReport(0, 0.0)
    await rt.embedder.embed(passages[:8])  # warm-up: model load and first allocations
    started = time.perf_counter()
    await rt.embedder.embed(passages)
    return BareReport(len(passages), time.perf_counter() - started)


# --- queries ----------------------------------------------------------------------------------


async def evaluate_mode(
    rt: Runtime,
    organization_id: uuid.UUID,
    dataset: BeirDataset,
    mode: SearchMode,
    options: EvalOptions,
) -> ModeReport:
    """Run every query in one mode; metrics over documents and per-query latency."""
    first = next(iter(dataset.queries.values()), None)
    if first is not None:  # warm-up on a throw-away cache, so every measured query embeds
        await _search(make_searcher(rt), rt, organization_id, first, mode, options.top_k)
    searcher = make_searcher(rt)
    run: dict[str, dict[str, float]] = {}
    timings: list[dict[str, float]] = []
    for query_id, query in dataset.queries.items():
        outcome = await _search(searcher, rt, organization_id, query, mode, options.top_k)
        run[query_id] = ranking_to_scores(document_ranking(outcome.results))
        timings.append(outcome.timings_ms)
    latencies = [t["search_ms"] for t in timings]
    return ModeReport(
        mode=mode.value,
        queries=len(run),
        metrics=evaluate_run(dataset.qrels, run),
        latency_p50_ms=_percentile(latencies, 50),
        latency_p95_ms=_percentile(latencies, 95),
        stages_p50_ms=_stage_medians(timings),
    )


async def _search(
    searcher: Searcher,
    rt: Runtime,
    organization_id: uuid.UUID,
    query: str,
    mode: SearchMode,
    top_k: int,
) -> SearchOutcome:
    async with rt.sessionmaker() as session:
        started = time.perf_counter()
        outcome = await searcher.search(session, organization_id, query, top_k, mode)
        # Same span as the API's timings total_ms: the search call, without HTTP.
        outcome.timings_ms["search_ms"] = (time.perf_counter() - started) * 1000
    return outcome


def document_ranking(results: Sequence[SearchResult]) -> list[str]:
    """Chunk hits as document external ids: best chunk score per document, best first."""
    best: dict[str, tuple[float, int]] = {}
    for position, hit in enumerate(results):
        if hit.external_id is None:
            continue
        seen = best.get(hit.external_id)
        if seen is None:
            best[hit.external_id] = (hit.score, position)
        elif hit.score > seen[0]:
            best[hit.external_id] = (hit.score, seen[1])
    # Ties keep the order of first occurrence.
    return sorted(best, key=lambda doc: (-best[doc][0], best[doc][1]))


def _percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else 0.0


def _stage_medians(timings: Sequence[dict[str, float]]) -> dict[str, float]:
    stages = sorted({name for t in timings for name in t if name != "search_ms"})
    return {name: _percentile([t[name] for t in timings if name in t], 50) for name in stages}


# --- small helpers ----------------------------------------------------------------------------


@contextlib.contextmanager
def _progress(console: Console, enabled: bool) -> Iterator[Progress]:
    columns = (*Progress.get_default_columns(), MofNCompleteColumn())
    with Progress(*columns, console=console, disable=not enabled) as progress:
        yield progress


def _show_ready(progress: Progress, task: TaskID) -> Callable[[dict[str, int]], None]:
    def show(counts: dict[str, int]) -> None:
        progress.update(task, completed=counts.get(DocumentStatus.READY, 0))

    return show


def _batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
