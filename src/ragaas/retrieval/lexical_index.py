"""An in-memory copy of an organisation's BM25 postings, for large organisations.

The exact BM25 SQL (``repository.lexical_candidates``) scores every chunk that shares a term with
the query: at 100k chunks that is ~40k chunks hash-aggregated per query, ~30 ms on these machines
however the SQL is written (docs/benchmarks.md). Here the same postings live in numpy arrays, term
by term, and a query adds up its terms' contributions in one vectorised pass (~1 ms).

Freshness is exact, never approximate: an index remembers the organisation's index generation
(``lexical_stats.generation``, bumped by the triggers in the same transaction as every change to
the postings). A search reads the current generation with the query's terms; only when they match
is the in-memory index used; otherwise the SQL answers and a rebuild starts in the background.
Document frequencies come from the postings, the collection size and average length from
``lexical_stats`` at query time, so the scores are the SQL's to floating-point rounding.
"""

from __future__ import annotations

import asyncio
import logging
import math
import struct
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import psycopg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from ragaas.observability import metrics
from ragaas.retrieval.repository import BM25_B, BM25_K1

log = logging.getLogger(__name__)

# PostgreSQL's binary COPY: 11-byte signature, flags, header-extension length; a row is its field
# count then each field's length and big-endian value; the stream ends with a field count of -1.
_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_POSTING = np.dtype(
    [
        ("fields", ">i2"),
        ("id_len", ">i4"),
        ("chunk_id", ">i8"),
        ("tf_len", ">i4"),
        ("tf", ">i4"),
        ("length_len", ">i4"),
        ("length", ">i4"),
    ]
)

_QUERY_STATS = text(
    "SELECT s.generation, s.chunk_count, s.total_length, "
    "ARRAY(SELECT DISTINCT lexeme FROM unnest(to_tsvector('english', :q))) AS terms "
    "FROM lexical_stats s WHERE s.organization_id = :org"
)


@dataclass(frozen=True)
class QueryStats:
    """The organisation's index state and the query's terms, read in the search's snapshot."""

    generation: int
    chunk_count: int
    total_length: int
    terms: list[str]


async def query_stats(session: AsyncSession, organization_id: uuid.UUID, query: str) -> QueryStats:
    row = (await session.execute(_QUERY_STATS, {"org": organization_id, "q": query})).first()
    if row is None:
        return QueryStats(0, 0, 0, [])
    return QueryStats(row.generation, row.chunk_count, row.total_length, list(row.terms))


@dataclass(frozen=True)
class OrganizationIndex:
    """One organisation's postings: per term a slice of (chunk position, term frequency)."""

    generation: int
    chunk_ids: npt.NDArray[np.int64]  # position -> chunk id, ascending
    lengths: npt.NDArray[np.float64]  # position -> chunk length in terms
    positions: npt.NDArray[np.int32]  # posting -> chunk position, grouped by term
    frequencies: npt.NDArray[np.float64]  # posting -> term frequency
    slices: dict[str, tuple[int, int]]  # term -> [start, end) in the posting arrays
    # posting -> its BM25 weight before idf, tf(k1+1)/(tf + k1(1-b+b·len/avgdl)), computed once
    # for the (k1, b, chunk count, total length) in ``weighted_for``: a generation's statistics.
    weights: npt.NDArray[np.float64]
    weighted_for: tuple[float, float, int, int]

    @property
    def postings(self) -> int:
        return int(self.positions.shape[0])

    def top(self, stats: QueryStats, limit: int, k1: float, b: float) -> list[tuple[int, float]]:
        """The ``limit`` best chunks by BM25 (Lucene's formula), best first, ties by chunk id."""
        n = float(stats.chunk_count)
        precomputed = self.weighted_for == (k1, b, stats.chunk_count, stats.total_length)
        scores = np.zeros(self.chunk_ids.shape[0], dtype=np.float64)
        for term in stats.terms:
            span = self.slices.get(term)
            if span is None:
                continue
            start, end = span
            df = end - start
            idf = math.log(1.0 + (n - df + 0.5) / (df + 0.5))
            pos = self.positions[start:end]
            if precomputed:
                weights = self.weights[start:end]
            else:
                weights = _weights(self.frequencies[start:end], self.lengths[pos], k1, b, stats)
            # A term lists each chunk once, so fancy-index addition cannot lose an update.
            scores[pos] += idf * weights
        matched = np.flatnonzero(scores)
        if matched.shape[0] > limit:
            keep = np.argpartition(-scores[matched], limit - 1)[:limit]
            matched = matched[keep]
        # Chunk positions ascend with chunk ids: sort by score, then id, like the SQL.
        order = np.lexsort((matched, -scores[matched]))
        best = matched[order]
        return [(int(self.chunk_ids[p]), float(scores[p])) for p in best]


def _weights(
    tf: npt.NDArray[np.float64],
    lengths: npt.NDArray[np.float64],
    k1: float,
    b: float,
    stats: QueryStats,
) -> npt.NDArray[np.float64]:
    """BM25 term weights before idf (Lucene's formula, as repository.lexical_candidates)."""
    avgdl = stats.total_length / max(stats.chunk_count, 1)
    result: npt.NDArray[np.float64] = tf * (k1 + 1.0) / (tf + k1 * (1.0 - b + b * lengths / avgdl))
    return result


def load_index(
    dsn: str, organization_id: uuid.UUID, k1: float = BM25_K1, b: float = BM25_B
) -> OrganizationIndex:
    """Read an organisation's postings in one snapshot (blocking: run it in a thread)."""
    with psycopg.connect(dsn) as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        row = conn.execute(
            "SELECT generation, chunk_count, total_length FROM lexical_stats "
            "WHERE organization_id = %s",
            (organization_id,),
        ).fetchone()
        stats = QueryStats(int(row[0]), int(row[1]), int(row[2]), []) if row else None
        terms = conn.execute(
            "SELECT term, count(*) FROM chunk_terms WHERE organization_id = %s "
            "GROUP BY term ORDER BY term",
            (organization_id,),
        ).fetchall()
        buffer = bytearray()
        copy_sql = (
            "COPY (SELECT chunk_id, tf, chunk_length FROM chunk_terms "
            "WHERE organization_id = {} ORDER BY term, chunk_id) TO STDOUT (FORMAT binary)"
        )
        with conn.cursor() as cur:
            query = psycopg.sql.SQL(copy_sql).format(psycopg.sql.Literal(str(organization_id)))
            with cur.copy(query) as copy:
                for block in copy:
                    buffer += block
    return _build(stats or QueryStats(0, 0, 0, []), terms, buffer, k1, b)


def _build(
    stats: QueryStats, terms: list[tuple[str, int]], data: bytes | bytearray, k1: float, b: float
) -> OrganizationIndex:
    if not data.startswith(_COPY_SIGNATURE):
        raise ValueError("not a PostgreSQL binary COPY stream")
    (extension,) = struct.unpack(">i", data[15:19])
    # Without copying the stream: skip the header and the 2-byte end marker.
    body = memoryview(data)[19 + extension : len(data) - 2]
    rows = np.frombuffer(body, dtype=_POSTING)
    if rows.shape[0] != sum(count for _, count in terms):
        raise ValueError("the postings changed while the index was read")
    chunk_ids, positions = np.unique(rows["chunk_id"].astype(np.int64), return_inverse=True)
    lengths = np.zeros(chunk_ids.shape[0], dtype=np.float64)
    lengths[positions] = rows["length"]
    slices: dict[str, tuple[int, int]] = {}
    start = 0
    for term, count in terms:
        slices[term] = (start, start + count)
        start += count
    frequencies = rows["tf"].astype(np.float64)
    return OrganizationIndex(
        generation=stats.generation,
        chunk_ids=chunk_ids,
        lengths=lengths,
        positions=positions.astype(np.int32),
        frequencies=frequencies,
        slices=slices,
        weights=_weights(frequencies, lengths[positions], k1, b, stats),
        weighted_for=(k1, b, stats.chunk_count, stats.total_length),
    )


class LexicalIndexes:
    """The in-memory indexes of this process, built on demand for large organisations.

    Organisations with fewer than ``min_chunks`` chunks stay on the SQL (fast enough there); the
    least recently used indexes are dropped when all of them hold more than ``max_postings``.
    """

    def __init__(self, dsn: str, min_chunks: int, max_postings: int) -> None:
        self.dsn = dsn
        self.min_chunks = min_chunks
        self.max_postings = max_postings
        self._indexes: OrderedDict[uuid.UUID, OrganizationIndex] = OrderedDict()
        self._building: dict[uuid.UUID, asyncio.Task[None]] = {}

    def get(self, organization_id: uuid.UUID) -> OrganizationIndex | None:
        return self._indexes.get(organization_id)

    async def start(
        self,
        session: AsyncSession,
        organization_id: uuid.UUID,
        query: str,
        limit: int,
        k1: float,
        b: float,
    ) -> asyncio.Future[list[tuple[int, float]]] | None:
        """BM25 candidates from memory when the index is current; None: ask the SQL. The query's
        terms and the generation are read now (the session is free again on return); the scoring
        then runs in a thread, overlapping whatever the caller awaits next."""
        stats = await query_stats(session, organization_id, query)
        index = self._indexes.get(organization_id)
        if index is not None and index.generation == stats.generation:
            self._indexes.move_to_end(organization_id)
            metrics.LEXICAL_INDEX_SEARCHES.labels("memory").inc()
            return asyncio.ensure_future(asyncio.to_thread(index.top, stats, limit, k1, b))
        if stats.chunk_count >= self.min_chunks:
            self.refresh(organization_id)
        metrics.LEXICAL_INDEX_SEARCHES.labels("sql").inc()
        return None

    async def preload(self, session: AsyncSession) -> None:
        """Build the largest organisations' indexes first, until the budget is full (at start)."""
        largest = await session.scalars(
            text(
                "SELECT organization_id FROM lexical_stats WHERE chunk_count >= :min "
                "ORDER BY chunk_count DESC"
            ),
            {"min": self.min_chunks},
        )
        organizations = list(largest)
        await session.rollback()
        for organization_id in organizations:
            await self.refresh(organization_id)
            if self._held() >= self.max_postings:
                return

    def refresh(self, organization_id: uuid.UUID) -> asyncio.Task[None]:
        """Start (or join) a background rebuild of the organisation's index."""
        task = self._building.get(organization_id)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._rebuild(organization_id))
            self._building[organization_id] = task
        return task

    async def _rebuild(self, organization_id: uuid.UUID) -> None:
        started = time.perf_counter()
        try:
            index = await asyncio.to_thread(load_index, self.dsn, organization_id)
        except Exception:  # a failed rebuild only means the SQL keeps answering
            log.exception("lexical index rebuild failed for organisation %s", organization_id)
            return
        finally:
            self._building.pop(organization_id, None)
        self._indexes[organization_id] = index
        self._indexes.move_to_end(organization_id)
        while len(self._indexes) > 1 and self._held() > self.max_postings:
            self._indexes.popitem(last=False)
        seconds = time.perf_counter() - started
        metrics.LEXICAL_INDEX_BUILD_SECONDS.observe(seconds)
        log.info(
            "lexical index of %s: %d postings, generation %d, built in %.1f s",
            organization_id,
            index.postings,
            index.generation,
            seconds,
        )

    def _held(self) -> int:
        return sum(index.postings for index in self._indexes.values())
