"""Search latency under load: POST /v1/search p50/p95/p99 and req/s against the bare cost.

    .venv/bin/python benchmarks/search_load.py --sizes 10000,100000 --clients 1,4,16 --duration 20

For each size it builds once (reruns reuse it) an organisation ``bench-<size>`` of synthetic chunks
made from SciFact abstracts in an embedded database under --data-dir. Then, in the same run:

1. the bare cost, in this process: the query embedding and the SQL of ``retrieval/repository.py``
   alone, serially and with N concurrent tasks (each with its own session), no HTTP;
2. the API: a real ``ragaas serve`` subprocess on the same database, driven by ``wrk`` (one
   connection per client) in two modes: *cold*, every query made unique with a meaningless suffix
   " (qNNN)" so the server's query-embedding cache never hits, and *warm*, the 809 claims repeated
   after one priming pass, so every embedding comes from the cache.

Needs ``wrk`` (``apt-get install -y wrk``). See docs/benchmarks.md for measured numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import hashlib
import itertools
import json
import logging
import os
import random
import re
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import numpy as np
import psutil
import psycopg
from rich.console import Console
from rich.table import Table
from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from ragaas import migrate
from ragaas.admin.service import bootstrap, create_api_key
from ragaas.auth.permissions import Permission
from ragaas.db import libpq_url
from ragaas.evaluation.beir import read_corpus, read_queries
from ragaas.models import Organization, User
from ragaas.retrieval import repository
from ragaas.retrieval.fusion import convex_fusion
from ragaas.retrieval.lexical_index import LexicalIndexes
from ragaas.retrieval.schemas import SearchFilters
from ragaas.runtime import Runtime, build_runtime
from ragaas.settings import Settings

T = TypeVar("T")
Stages = dict[str, float]

DATASET = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "scifact"
RAGAAS_BIN = Path(sys.executable).parent / "ragaas"
TOP_K = 10
CHUNK_WORDS = 100
NOISE_SIGMA = 0.02
COPY_BATCH = 1000
EMBED_BATCH = 256
WARMUP_REQUESTS = 50
QUIET_BUSY = 0.25  # the cores' busy fraction under which the machine counts as quiet
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\[])")

# ---------------------------------------------------------------------------------------------
# Synthetic corpus: ~100-word passages of SciFact abstracts, then variants of them up to N chunks.


@dataclass(frozen=True)
class Passage:
    """A run of whole sentences (~100 words) of one abstract."""

    source: str
    title: str
    number: int
    sentences: tuple[str, ...]


def split_passages(source: str, title: str, body: str) -> list[Passage]:
    """An abstract cut into ~CHUNK_WORDS-word passages at sentence ends."""
    groups: list[list[str]] = []
    current: list[str] = []
    for sentence in (s.strip() for s in _SENTENCE_END.split(body)):
        if sentence:
            current.append(sentence)
        if sum(len(s.split()) for s in current) >= CHUNK_WORDS:
            groups.append(current)
            current = []
    if current:
        # A short tail joins the previous passage rather than standing alone.
        if groups and sum(len(s.split()) for s in current) < CHUNK_WORDS // 3:
            groups[-1].extend(current)
        else:
            groups.append(current)
    return [Passage(source, title, n, tuple(g)) for n, g in enumerate(groups)]


def base_passages(dataset: Path) -> list[Passage]:
    """Every passage of the corpus, in corpus order."""
    passages: list[Passage] = []
    for doc in read_corpus(dataset / "corpus.jsonl"):
        passages.extend(split_passages(doc.doc_id, doc.title, doc.text))
    return passages


def chunk_text(passage: Passage, round_: int) -> str:
    """Round 0: the passage itself; round r > 0: its sentences shuffled, maybe one dropped."""
    if round_ == 0:
        return " ".join(passage.sentences)
    rng = random.Random(f"{passage.source}/{passage.number}/{round_}")
    sentences = list(passage.sentences)
    rng.shuffle(sentences)
    if len(sentences) > 2 and rng.random() < 0.5:
        sentences.pop(rng.randrange(len(sentences)))
    return " ".join(sentences) + f" (rev. {round_})"


def read_claims(dataset: Path) -> list[str]:
    """The SciFact claims (queries.jsonl), in file order."""
    return [claim for _, claim in read_queries(dataset / "queries.jsonl")]


def cold_query(claim: str, n: int) -> str:
    """A claim made unique (defeats the query-embedding cache); same format as the Lua script."""
    return f"{claim} (q{n})"


# ---------------------------------------------------------------------------------------------
# Vectors: the base passages embedded once by the real model (cached); variants get noise.


async def base_vectors(
    runtime: Runtime, texts: list[str], needed: int, cache_dir: Path, console: Console
) -> np.ndarray:
    """Vectors of the first ``needed`` base passages, embedding only what the cache lacks."""
    path, stamp = cache_dir / "base_vectors.npy", cache_dir / "base_vectors.sha256"
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()
    have = np.zeros((0, runtime.embedder.dimensions), dtype=np.float32)
    if path.exists() and stamp.exists() and stamp.read_text() == digest:
        have = np.load(path)
    started, missing = time.perf_counter(), needed - len(have)
    while len(have) < needed:
        batch = texts[len(have) : min(needed, len(have) + EMBED_BATCH)]
        vectors = np.asarray(await runtime.embedder.embed(batch), dtype=np.float32)
        have = np.concatenate([have, vectors])
        np.save(path, have)
        stamp.write_text(digest)
        rate = (len(have) - needed + missing) / (time.perf_counter() - started)
        console.print(f"  embedded {len(have)}/{needed} base passages ({rate:.1f}/s)")
    return have[:needed]


def chunk_vectors(base: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Vectors of chunks start..stop: the base vector, plus Gaussian noise for variants."""
    index = np.arange(start, stop)
    vectors = base[index % len(base)].astype(np.float64)
    noise = np.random.default_rng(start).normal(0.0, NOISE_SIGMA, vectors.shape)
    vectors += noise * (index >= len(base))[:, None]
    normed: np.ndarray = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return normed


def vector_literal(vector: np.ndarray) -> str:
    return "[" + ",".join(map(str, np.round(vector, 6).tolist())) + "]"


# ---------------------------------------------------------------------------------------------
# Loading: one organisation per size, documents and chunks by COPY with their vectors set.


@dataclass
class Tenant:
    size: int
    name: str
    organization_id: uuid.UUID
    api_key: str
    load: dict[str, float] | None = None


async def ensure_tenant(
    runtime: Runtime, size: int, passages: list[Passage], base: np.ndarray, console: Console
) -> Tenant:
    """The ``bench-<size>`` organisation, built if missing or incomplete, with a fresh API key."""
    name = f"bench-{size}"
    async with runtime.sessionmaker() as session:
        org = await session.scalar(select(Organization).where(Organization.name == name))
        if org is not None and await _complete(session, org.id, size):
            key = await _new_key(session, org.id)
            console.print(f"{name}: already loaded, reusing it")
            return Tenant(size, name, org.id, key)
        if org is not None:
            await session.execute(delete(Organization).where(Organization.id == org.id))
        org, _, key = await bootstrap(session, name, f"admin@{name}.example", uuid.uuid4().hex)
        await session.commit()
    load = await load_chunks(runtime.url, org.id, size, passages, base, console)
    return Tenant(size, name, org.id, key, load)


async def _complete(session: AsyncSession, org_id: uuid.UUID, size: int) -> bool:
    sql = "SELECT count(*) FROM chunks WHERE organization_id = :org AND embedding IS NOT NULL"
    count = await session.scalar(text(sql), {"org": org_id})
    return int(count or 0) == size


async def _new_key(session: AsyncSession, org_id: uuid.UUID) -> str:
    user = await session.scalar(select(User).where(User.organization_id == org_id).limit(1))
    assert user is not None
    _, plaintext = await create_api_key(session, user, "search-load", frozenset(Permission))
    await session.commit()
    return plaintext


def plan_documents(
    size: int, passages: list[Passage]
) -> tuple[list[tuple[Any, ...]], list[uuid.UUID]]:
    """Document rows (one per abstract per round) and each chunk's document id."""
    ids: dict[tuple[int, str], uuid.UUID] = {}
    chunk_docs: list[uuid.UUID] = []
    for k in range(size):
        round_, passage = divmod(k, len(passages))
        key = (round_, passages[passage].source)
        chunk_docs.append(ids.setdefault(key, uuid.uuid4()))
    counts = Counter(chunk_docs)
    titles = {p.source: p.title for p in passages}
    rows = [
        (doc_id, f"{source}#{round_}", titles[source] or source, counts[doc_id])
        for (round_, source), doc_id in ids.items()
    ]
    return rows, chunk_docs


_DOC_COPY = (
    "COPY documents (id, organization_id, external_id, title, content_type, metadata, labels, "
    "content_hash, blob_key, size_bytes, status, chunk_count) FROM STDIN"
)
_CHUNK_COPY = (
    "COPY chunks (organization_id, document_id, chunk_number, content, embedding, token_count, "
    "metadata) FROM STDIN"
)


async def load_chunks(
    url: str,
    org_id: uuid.UUID,
    size: int,
    passages: list[Passage],
    base: np.ndarray,
    console: Console,
) -> dict[str, float]:
    """COPY the documents, then the chunks in batches (the BM25 postings trigger runs per row)."""
    docs, chunk_docs = plan_documents(size, passages)
    started = time.perf_counter()
    async with await psycopg.AsyncConnection.connect(libpq_url(url)) as conn:
        async with conn.cursor() as cur, cur.copy(_DOC_COPY) as copy:
            for doc_id, external_id, title, count in docs:
                digest = hashlib.sha256(external_id.encode()).hexdigest()
                row = (doc_id, org_id, external_id, title, "text/plain", "{}", "{}", digest)
                await copy.write_row((*row, f"bench/{external_id}", 0, "ready", count))
        await conn.commit()
        for start in range(0, size, COPY_BATCH):
            stop = min(size, start + COPY_BATCH)
            await _copy_chunks(conn, org_id, passages, chunk_docs, base, start, stop)
            if stop % (10 * COPY_BATCH) == 0:
                rate = stop / (time.perf_counter() - started)
                console.print(f"  {stop}/{size} chunks ({rate:.0f} chunks/s)")
    seconds = time.perf_counter() - started
    console.print(f"  loaded {size} chunks in {seconds:.0f} s = {size / seconds:.0f} chunks/s")
    return {"chunks": size, "documents": len(docs), "seconds": round(seconds, 1)}


async def _copy_chunks(
    conn: psycopg.AsyncConnection[Any],
    org_id: uuid.UUID,
    passages: list[Passage],
    chunk_docs: list[uuid.UUID],
    base: np.ndarray,
    start: int,
    stop: int,
) -> None:
    vectors = chunk_vectors(base, start, stop)
    async with conn.cursor() as cur, cur.copy(_CHUNK_COPY) as copy:
        for k, vector in zip(range(start, stop), vectors, strict=True):
            round_, index = divmod(k, len(passages))
            passage = passages[index]
            body = chunk_text(passage, round_)
            row = (org_id, chunk_docs[k], passage.number, body, vector_literal(vector))
            await copy.write_row((*row, len(body.split()), "{}"))
    await conn.commit()


async def vacuum_analyze(url: str) -> float:
    """VACUUM ANALYZE the search tables; returns the seconds it took."""
    started = time.perf_counter()
    async with await psycopg.AsyncConnection.connect(libpq_url(url), autocommit=True) as conn:
        for table in ("documents", "chunks", "chunk_terms", "lexical_stats"):
            await conn.execute(f"VACUUM ANALYZE {table}")
    return time.perf_counter() - started


# ---------------------------------------------------------------------------------------------
# Bare cost: what Searcher.search does, without HTTP, auth, history or JSON.


def ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


async def timed(stages: Stages, name: str, work: Awaitable[T], started: float | None = None) -> T:
    started = time.perf_counter() if started is None else started
    result = await work
    stages[name] = ms_since(started)
    return result


async def embed_query(runtime: Runtime, query: str, stages: Stages) -> list[float]:
    started = time.perf_counter()
    vector = (await runtime.queries.embed([query]))[0]
    stages["embed_ms"] = ms_since(started)
    return vector


async def lexical_candidates(
    indexes: LexicalIndexes,
    session: AsyncSession,
    org_id: uuid.UUID,
    query: str,
    depth: int,
    stages: Stages,
) -> Awaitable[list[tuple[int, float]]]:
    """BM25 candidates as ``Searcher._lexical`` gets them: the in-memory index (scored in a
    thread, overlapping the dense SQL), else the SQL."""
    started = time.perf_counter()
    scoring = await indexes.start(
        session, org_id, query, depth, repository.BM25_K1, repository.BM25_B
    )
    if scoring is not None:
        return asyncio.ensure_future(timed(stages, "lexical_ms", scoring, started))
    found = await repository.lexical_candidates(session, org_id, query, SearchFilters(), depth)
    stages["lexical_ms"] = ms_since(started)
    done: asyncio.Future[list[tuple[int, float]]] = asyncio.get_running_loop().create_future()
    done.set_result(found)
    return done


async def search_once(
    runtime: Runtime,
    indexes: LexicalIndexes,
    session: AsyncSession,
    org_id: uuid.UUID,
    query: str,
    vector: list[float] | None = None,
) -> Stages:
    """One search's work as the service does it; with ``vector`` given, the SQL alone."""
    stages: Stages = {}
    started, filters = time.perf_counter(), SearchFilters()
    depth = max(runtime.settings.search_candidates, TOP_K)
    pending = None
    if vector is None:  # cold: the embedding overlaps the BM25 query, as in Searcher.search
        pending = asyncio.ensure_future(embed_query(runtime, query, stages))
    lexical_task = await lexical_candidates(indexes, session, org_id, query, depth, stages)
    if pending is not None:
        vector = await pending
    assert vector is not None
    dns = repository.dense_candidates(session, org_id, vector, filters, depth)
    dense = await timed(stages, "dense_ms", dns)
    lexical = await lexical_task
    ranked = convex_fusion(dense, lexical, runtime.settings.hybrid_lexical_weight)
    ids = [cid for cid, _ in ranked[:TOP_K]]
    await timed(stages, "hydrate_ms", repository.hydrate(session, org_id, ids))
    await session.rollback()  # ends the transaction, as the request's commit does
    stages["total_ms"] = ms_since(started)
    return stages


Job = Callable[[AsyncSession], Awaitable[Stages]]


async def run_clients(
    runtime: Runtime, clients: int, jobs: Iterator[Job], seconds: float
) -> dict[str, Any]:
    """Jobs run by ``clients`` concurrent tasks (one session each) for ``seconds``: percentiles."""
    results: list[Stages] = []
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        async with runtime.sessionmaker() as session:
            for job in jobs:
                results.append(await job(session))
                if time.perf_counter() >= deadline:
                    return
                # Hand the pooled connection to a waiting client before asking again, as an
                # HTTP client's next request does (it first reads the response): without this,
                # with more clients than connections, a client that just finished took its
                # connection straight back and the others starved (bare p99 of seconds and a
                # p95 that left the starved out).
                await asyncio.sleep(0)

    started = time.perf_counter()
    own_cpu, pg_cpu = cpu_seconds(os.getpid()), cpu_seconds(_PG_PID)
    await asyncio.gather(*(client() for _ in range(clients)))
    own_cpu, pg_cpu = cpu_seconds(os.getpid()) - own_cpu, cpu_seconds(_PG_PID) - pg_cpu
    count = max(len(results), 1)
    cpu_ms = {"process": own_cpu * 1000 / count, "postgres": pg_cpu * 1000 / count}
    return {**summarize(results), "rps": len(results) / (time.perf_counter() - started)} | {
        "cpu_ms": cpu_ms
    }


async def serial_parts(
    runtime: Runtime, indexes: LexicalIndexes, org_id: uuid.UUID, claims: list[str]
) -> tuple[list[Stages], list[list[float]]]:
    """Per claim, one after the other: the embedding alone, then the SQL alone (warm path)."""
    samples: list[Stages] = []
    vectors: list[list[float]] = []
    async with runtime.sessionmaker() as session:
        for n, claim in enumerate(claims):
            stages: Stages = {}
            vector = await embed_query(runtime, cold_query(claim, 900_000_000 + n), stages)
            sql = await search_once(runtime, indexes, session, org_id, claim, vector)
            sql["sql_ms"] = sql.pop("total_ms")
            samples.append({**stages, **sql, "sum_ms": stages["embed_ms"] + sql["sql_ms"]})
            vectors.append(vector)
    return samples, vectors


@dataclass(frozen=True)
class Bare:
    """The bare searches of one organisation: its claims and their (cached) vectors."""

    runtime: Runtime
    indexes: LexicalIndexes
    org_id: uuid.UUID
    claims: list[str]
    vectors: list[list[float]]

    def jobs(self, mode: str, seed: int) -> Iterator[Job]:
        """Endless jobs cycling the claims: cold (unique query, embedded) or warm (SQL alone)."""
        for n in itertools.count():
            i = n % len(self.claims)
            if mode == "warm":
                yield functools.partial(self._search, self.claims[i], self.vectors[i])
            else:
                yield functools.partial(self._search, cold_query(self.claims[i], seed + n), None)

    async def _search(
        self, query: str, vector: list[float] | None, session: AsyncSession
    ) -> Stages:
        return await search_once(self.runtime, self.indexes, session, self.org_id, query, vector)


def summarize(samples: list[Stages]) -> dict[str, dict[str, float]]:
    """p50/p95/p99 (ms) of every stage present in the samples."""
    names = sorted({name for s in samples for name in s})
    return {name: percentiles([s[name] for s in samples if name in s]) for name in names}


def percentiles(values: list[float]) -> dict[str, float]:
    p50, p95, p99 = np.percentile(np.asarray(values), [50, 95, 99]).tolist()
    return {"p50": round(p50, 1), "p95": round(p95, 1), "p99": round(p99, 1), "n": len(values)}


# ---------------------------------------------------------------------------------------------
# The API under load: a real `ragaas serve` subprocess, driven by wrk.

WRK_SCRIPT = r"""
local nthreads = 0
function setup(thread)
  thread:set("tid", nthreads)
  nthreads = nthreads + 1
end

function init(args)
  queries = {}
  for line in io.lines(args[1]) do queries[#queries + 1] = line end
  local key = io.open(args[2]):read("*l")
  cold = args[3] == "cold"
  probe = args[3] == "probe"
  n = tonumber(args[4]) + tid * 1000000
  i = (tid * 211) % #queries
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. key
end

function request()
  if probe then return wrk.format("GET") end
  i = i % #queries + 1
  local q = queries[i]
  if cold then
    n = n + 1
    q = q .. " (q" .. n .. ")"
  end
  return wrk.format(nil, nil, nil, '{"query": "' .. q .. '", "top_k": 10}')
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "non2xx": %d, "timeouts": %d, ' ..
    '"socket_errors": %d, "mean_us": %.1f, "max_us": %d, "p50_us": %d, "p75_us": %d, ' ..
    '"p90_us": %d, "p95_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, e.status, e.timeout, e.connect + e.read + e.write,
    latency.mean, latency.max, latency:percentile(50), latency:percentile(75),
    latency:percentile(90), latency:percentile(95), latency:percentile(99)))
end
"""


@dataclass(frozen=True)
class LoadSetup:
    url: str
    workdir: Path
    duration: int
    tenant: Tenant
    server_pid: int = 0  # the `ragaas serve` process (and its app processes)


# CPU time per request, robust where wall-clock latency is not (a busy machine): the serving
# process tree and PostgreSQL's (the embedded server's postmaster and its backends).
_PG_PID = 0


def cpu_seconds(*roots: int) -> float:
    """User + system CPU seconds of the processes ``roots`` and all their children so far,
    including children that have exited (PostgreSQL backends of closed connections): a process's
    reaped children count in its ``children_*`` times."""
    total = 0.0
    for root in roots:
        with contextlib.suppress(psutil.Error):
            parent = psutil.Process(root)
            for process in [parent, *parent.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    times = process.cpu_times()
                    total += times.user + times.system
                    total += times.children_user + times.children_system
    return total


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def running_server(
    data_dir: Path, port: int, log_path: Path, processes: int = 1
) -> AsyncIterator[asyncio.subprocess.Process]:
    """``ragaas serve`` on ``port`` (its own process group), stopped on exit."""
    env = {**os.environ, "RAGAAS_DATA_DIR": str(data_dir), "RAGAAS_SEED_DEMO": "false"}
    env["RAGAAS_LOG_LEVEL"] = "WARNING"
    command = [str(RAGAAS_BIN), "serve", "--no-workers-in-process", "--port", str(port)]
    command += ["--processes", str(processes)]
    with log_path.open("ab") as log:
        proc = await asyncio.create_subprocess_exec(
            *command, env=env, stdout=log, stderr=log, start_new_session=True
        )
    try:
        await wait_ready(f"http://127.0.0.1:{port}", proc, log_path)
        yield proc
    finally:
        await stop_group(proc)


async def wait_ready(url: str, proc: asyncio.subprocess.Process, log_path: Path) -> None:
    async with httpx.AsyncClient(timeout=5) as client:
        for _ in range(600):
            if proc.returncode is not None:
                raise RuntimeError(f"ragaas serve exited ({proc.returncode}); see {log_path}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url + "/ready")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"ragaas serve not ready after 120 s; see {log_path}")


async def stop_group(proc: asyncio.subprocess.Process) -> None:
    """SIGTERM the server's process group; SIGKILL it if it has not exited in 30 s."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), 30)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()


def peak_rss_mb(pid: int) -> dict[str, float]:
    """VmHWM (peak) and VmRSS of a live process and its children (app processes), in MiB."""
    total = {"VmHWM": 0.0, "VmRSS": 0.0}
    for process in [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]:
        status = Path(f"/proc/{process.pid}/status").read_text().splitlines()
        fields = dict(line.split(":", 1) for line in status)
        for k in total:
            total[k] += int(fields[k].split()[0]) / 1024
    return total


async def warm_up(client: httpx.AsyncClient, claims: list[str], count: int) -> None:
    """A few unique queries: opens the pool, loads the model, checks that results come back."""
    for n in range(count):
        body = {"query": cold_query(claims[n % len(claims)], 800_000_000 + n), "top_k": TOP_K}
        response = await client.post("/v1/search", json=body)
        response.raise_for_status()
        if not response.json()["results"]:
            raise RuntimeError(f"no results for {body['query']!r}")


# Several app processes: a claim counts as cached everywhere after this many cache hits in a row,
# each on a new connection (a process still missing it is picked with probability 1/processes).
PRIMED_AFTER_HITS = 8


async def prime_cache(
    client: httpx.AsyncClient, claims: list[str], clients: int = 4, processes: int = 1
) -> float:
    """Every claim embedded by every app process (4 requests at a time), so that the warm runs
    hit the query-embedding cache.

    One process: each claim once. Several: each app process has its own cache and a connection
    sticks to one of them, so each claim is sent on new connections (the kernel picks the
    process) until PRIMED_AFTER_HITS responses in a row report no embedding time. (A fixed number
    of passes left ~4% of the warm requests cold in the process that served them: the tail of
    the warm runs at one client.)
    """
    pending = iter(claims)
    fresh = {"Connection": "close"} if processes > 1 else {}
    needed = PRIMED_AFTER_HITS if processes > 1 else 1

    async def prime(claim: str) -> None:
        hits = 0
        while hits < needed:
            body = {"query": claim, "top_k": TOP_K}
            response = await client.post("/v1/search", json=body, headers=fresh)
            response.raise_for_status()
            cached = response.json()["timings_ms"].get("embed_ms", 0.0) < 1.0
            hits = hits + 1 if cached or processes == 1 else 0

    async def worker() -> None:
        for claim in pending:
            await prime(claim)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return time.perf_counter() - started


async def run_wrk(
    setup: LoadSetup, clients: int, mode: str, seed: int, path: str = "/v1/search"
) -> dict[str, Any]:
    """One wrk run; its Lua ``done`` hook prints the numbers as one JSON line."""
    w, seconds = setup.workdir, setup.duration if mode != "probe" else min(5, setup.duration)
    args = [f"-t{min(clients, 2)}", f"-c{clients}", f"-d{seconds}s", "--timeout", "60s"]
    args += ["--latency", "-s", str(w / "search.lua"), setup.url + path, "--"]
    args += [str(w / "queries.txt"), str(w / "key.txt"), mode, str(seed)]
    proc = await asyncio.create_subprocess_exec(
        "wrk", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    for line in out.decode().splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line.removeprefix("RESULT "))
            return result
    raise RuntimeError(f"wrk printed no result: {out.decode()} {err.decode()}")


async def load_point(
    runtime: Runtime, setup: LoadSetup, clients: int, mode: str, seed: int
) -> dict[str, Any]:
    """One (clients, mode) point: wrk's numbers plus the server's own stage timings."""
    since = await db_now(runtime)
    serve_cpu, pg_cpu = cpu_seconds(setup.server_pid), cpu_seconds(_PG_PID)
    raw = await run_wrk(setup, clients, mode, seed)
    serve_cpu, pg_cpu = cpu_seconds(setup.server_pid) - serve_cpu, cpu_seconds(_PG_PID) - pg_cpu
    server = await server_stages(
        runtime, setup.tenant.organization_id, since, await db_now(runtime)
    )
    seconds = raw["duration_us"] / 1e6
    point: dict[str, Any] = {"clients": clients, "mode": mode, "requests": raw["requests"]}
    point |= {"rps": raw["requests"] / seconds, "errors": raw["non2xx"] + raw["timeouts"]}
    point |= {q: raw[f"{q}_us"] / 1000 for q in ("mean", "p50", "p75", "p90", "p95", "p99")}
    point["socket_errors"], point["server"] = raw["socket_errors"], server
    requests = max(raw["requests"], 1)
    point["cpu_ms"] = {"serve": serve_cpu * 1000 / requests, "postgres": pg_cpu * 1000 / requests}
    return point


PROBES = ("/health", "/v1/auth/me")


async def probes(setup: LoadSetup) -> dict[str, dict[str, float]]:
    """The HTTP floor at one client: a bare route, and one that authenticates the API key."""
    out: dict[str, dict[str, float]] = {}
    for path in PROBES:
        raw = await run_wrk(setup, 1, "probe", 0, path)
        rps = raw["requests"] / (raw["duration_us"] / 1e6)
        out[path] = {"rps": rps} | {q: raw[f"{q}_us"] / 1000 for q in ("p50", "p95", "p99")}
    return out


async def db_now(runtime: Runtime) -> datetime:
    async with runtime.engine.connect() as conn:
        now: datetime = (await conn.execute(text("SELECT clock_timestamp()"))).scalar_one()
        return now


_STAGES_SQL = """
SELECT t.key AS stage,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY t.value::float8) AS p50,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY t.value::float8) AS p95
FROM query_history h, jsonb_each_text(h.metrics -> 'timings_ms') AS t
WHERE h.organization_id = :org AND h.kind = 'search' AND h.created_at BETWEEN :since AND :until
GROUP BY t.key
"""


async def wait_for_memory_index(
    client: httpx.AsyncClient, claims: list[str], processes: int = 1
) -> None:
    """Until the server answers BM25 from its in-memory index (built in the background).

    With several app processes, until 10 per process /metrics answers in a row, each on a new
    connection (the kernel picks the process), say so.
    """
    fresh = {"Connection": "close"} if processes > 1 else {}
    streak = 0
    for n in range(1200):
        metrics = (await client.get("/metrics", headers=fresh)).text
        in_memory = 'ragaas_lexical_index_searches_total{path="memory"}' in metrics
        streak = streak + 1 if in_memory else 0
        if streak >= (10 * processes if processes > 1 else 1):
            return
        body = {"query": claims[n % len(claims)], "top_k": TOP_K}
        (await client.post("/v1/search", json=body, headers=fresh)).raise_for_status()
        if not streak:
            await asyncio.sleep(0.5)
    raise RuntimeError("the server's in-memory BM25 index was not ready after 600 s")


async def server_stages(
    runtime: Runtime, org_id: uuid.UUID, since: datetime, until: datetime
) -> dict[str, dict[str, float]]:
    """p50/p95 of the stage timings the server recorded in query_history during a run."""
    params = {"org": org_id, "since": since, "until": until}
    async with runtime.engine.connect() as conn:
        rows = (await conn.execute(text(_STAGES_SQL), params)).all()
    return {r.stage: {"p50": round(r.p50, 1), "p95": round(r.p95, 1)} for r in rows}


def cpu_busy(seconds: float = 5.0) -> float:
    """The fraction of all cores busy over ``seconds`` (from /proc/stat), blocking."""

    def sample() -> tuple[int, int]:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        return sum(values), values[3] + values[4]  # total, idle + iowait

    total0, idle0 = sample()
    time.sleep(seconds)
    total1, idle1 = sample()
    return 1 - (idle1 - idle0) / max(1, total1 - total0)


async def wait_for_quiet(max_wait: float, console: Console) -> float:
    """Wait up to ``max_wait`` s for other work to leave the cores idle; the last reading."""
    deadline = time.monotonic() + max_wait
    busy = await asyncio.to_thread(cpu_busy)
    while busy > QUIET_BUSY and time.monotonic() < deadline:
        console.print(f"  the machine is {busy:.0%} busy with other work; waiting for quiet")
        busy = await asyncio.to_thread(cpu_busy, 30.0)
    return busy


def write_wrk_files(tenant: Tenant, claims: list[str]) -> Path:
    """The Lua script, the claims (JSON-escaped, one a line) and the API key, for wrk."""
    workdir = Path(tempfile.mkdtemp(prefix="search-load-"))
    (workdir / "search.lua").write_text(WRK_SCRIPT)
    (workdir / "queries.txt").write_text("".join(json.dumps(c)[1:-1] + "\n" for c in claims))
    (workdir / "key.txt").write_text(tenant.api_key + "\n")
    return workdir


async def sweep(
    bare: Bare, setup: LoadSetup, clients: list[int], mode: str, console: Console
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Per client count, back to back: the bare cost for --duration, then the API under wrk."""
    bare_points: dict[str, Any] = {}
    points: list[dict[str, Any]] = []
    for k, count in enumerate(clients):
        seed = (k + 1) * 10_000_000 if mode == "cold" else 0
        jobs = bare.jobs(mode, 500_000_000 + seed)
        b = bare_points[f"{mode}@{count}"] = await run_clients(
            bare.runtime, count, jobs, setup.duration
        )
        p = await load_point(bare.runtime, setup, count, mode, seed)
        points.append(p)
        console.print(
            f"  {mode} {count:>2} clients: API p50/p95 {p['p50']:.1f}/{p['p95']:.1f} ms "
            f"{p['rps']:.1f} req/s; bare {b['total_ms']['p50']:.1f}/{b['total_ms']['p95']:.1f} "
            f"ms {b['rps']:.1f} req/s"
        )
    return bare_points, points


async def measure_size(
    runtime: Runtime, tenant: Tenant, claims: list[str], args: argparse.Namespace, console: Console
) -> dict[str, Any]:
    """Bare parts serially, then (server up) cold sweep, cache priming, warm sweep."""
    global _PG_PID
    _PG_PID = int((args.data_dir / "pg" / "postmaster.pid").read_text().split()[0])
    busy = await wait_for_quiet(args.wait_quiet, console)
    console.print(f"  machine {busy:.0%} busy before measuring")
    mine = claims[: args.bare_queries]
    settings = runtime.settings
    indexes = LexicalIndexes(
        libpq_url(runtime.url),
        settings.lexical_index_min_chunks,
        settings.lexical_index_max_postings,
    )
    in_memory = 0 < settings.lexical_index_min_chunks <= tenant.size
    if in_memory:
        started = time.perf_counter()
        await indexes.refresh(tenant.organization_id)
        console.print(f"  in-memory BM25 index built in {time.perf_counter() - started:.1f} s")
    parts, vectors = await serial_parts(runtime, indexes, tenant.organization_id, mine)
    bare = Bare(runtime, indexes, tenant.organization_id, mine, vectors)
    result: dict[str, Any] = {"load": tenant.load, "busy_before": busy}
    result["bare"] = {"serial": summarize(parts)}
    port = args.port or free_port()
    setup = LoadSetup(
        f"http://127.0.0.1:{port}", write_wrk_files(tenant, claims), args.duration, tenant
    )
    auth = {"Authorization": f"Bearer {tenant.api_key}"}
    async with (
        running_server(args.data_dir, port, args.data_dir / "serve.log", args.processes) as proc,
        httpx.AsyncClient(base_url=setup.url, headers=auth, timeout=120) as client,
    ):
        setup = replace(setup, server_pid=proc.pid)
        await warm_up(client, claims, WARMUP_REQUESTS)
        if in_memory:
            await wait_for_memory_index(client, claims, args.processes)
        result["probes"] = await probes(setup)
        cold_bare, points = await sweep(bare, setup, args.clients, "cold", console)
        result["prime_seconds"] = await prime_cache(client, claims, processes=args.processes)
        warm_bare, warm_points = await sweep(bare, setup, args.clients, "warm", console)
        result["serve_rss_mb"] = peak_rss_mb(proc.pid)
    result["bare"] |= cold_bare | warm_bare
    result["points"] = points + warm_points
    return result


# ---------------------------------------------------------------------------------------------
# Report.


def bare_for(bare: dict[str, Any], clients: int, mode: str) -> dict[str, Any]:
    entry: dict[str, Any] = bare[f"{mode}@{clients}"]
    return entry


_API_COLUMNS = ["clients", "mode", "req/s", "p50", "p95", "p99", "bare p50", "bare p95"]
_API_COLUMNS += ["p95/bare", "bare req/s", "server p50", "outside p50"]
_API_COLUMNS += ["embed p50", "BM25 p50", "HNSW p50", "hydrate p50"]
_API_COLUMNS += ["CPU/req", "bare CPU/req"]


def api_row(point: dict[str, Any], bare: dict[str, Any]) -> list[str]:
    """One table row: wrk's numbers, the bare cost at the same concurrency, server stages."""
    b = bare_for(bare, point["clients"], point["mode"])["total_ms"]
    rps = bare_for(bare, point["clients"], point["mode"])["rps"]
    s = {k: v["p50"] for k, v in point["server"].items()}
    outside = point["p50"] - s["total_ms"] if "total_ms" in s else float("nan")
    row = [point["clients"], point["mode"], f"{point['rps']:.1f}", f"{point['p50']:.1f}"]
    row += [f"{point['p95']:.1f}", f"{point['p99']:.1f}", b["p50"], b["p95"]]
    row += [f"{point['p95'] / b['p95']:.2f}", f"{rps:.1f}", s.get("total_ms"), f"{outside:.1f}"]
    row += [s.get(k) for k in ("embed_ms", "lexical_ms", "dense_ms", "hydrate_ms")]
    # CPU ms per request: the serving processes + PostgreSQL, against this process + PostgreSQL.
    cpu, bare_cpu = point["cpu_ms"], bare_for(bare, point["clients"], point["mode"])["cpu_ms"]
    row += [f"{cpu['serve'] + cpu['postgres']:.1f}"]
    row += [f"{bare_cpu['process'] + bare_cpu['postgres']:.1f}"]
    return [str(x) for x in row]


def api_table(size: int, result: dict[str, Any]) -> Table:
    title = f"POST /v1/search under wrk, {size:,} chunks (ms; bare = same work, no HTTP)"
    table = Table(title=title)
    for name in _API_COLUMNS:
        table.add_column(name, justify="right")
    for point in result["points"]:
        table.add_row(*api_row(point, result["bare"]))
    return table


def bare_table(size: int, bare: dict[str, Any]) -> Table:
    table = Table(title=f"Bare cost, {size:,} chunks (ms, this process, no HTTP)")
    for name in ("what", "p50", "p95", "p99", "req/s"):
        table.add_column(name, justify="right")
    labels = {"embed_ms": "embed query alone", "lexical_ms": "  BM25 SQL"}
    labels |= {"dense_ms": "  HNSW SQL", "hydrate_ms": "  hydrate SQL"}
    labels |= {"sql_ms": "SQL alone, serial", "sum_ms": "embed + SQL, serial"}
    for key, label in labels.items():
        s = bare["serial"][key]
        table.add_row(label, str(s["p50"]), str(s["p95"]), str(s["p99"]), "")
    for key, entry in bare.items():
        if key != "serial":
            t = entry["total_ms"]
            mode, clients = key.split("@")
            label = f"{mode}, {clients} client(s)" + (" (overlapped)" if mode == "cold" else "")
            table.add_row(label, str(t["p50"]), str(t["p95"]), str(t["p99"]), f"{entry['rps']:.1f}")
    return table


def verdicts(report: dict[int, dict[str, Any]]) -> list[str]:
    """Each target, met or not."""
    lines = []
    for size, result in report.items():
        for p in result["points"]:
            ratio = p["p95"] / bare_for(result["bare"], p["clients"], p["mode"])["total_ms"]["p95"]
            ok = "met" if ratio <= 1.5 else "NOT met"
            lines.append(
                f"{size:>7,} {p['mode']} {p['clients']:>2} clients: p95/bare {ratio:.2f} "
                f"(target <= 1.5) {ok}"
            )
            if size == 100_000 and p["clients"] == 4:
                ok = "met" if p["p50"] <= 50 else "NOT met"
                lines.append(f"        p50 {p['p50']:.1f} ms (target <= 50 ms) {ok}")
    return lines


def print_report(report: dict[int, dict[str, Any]], console: Console) -> None:
    for size, result in report.items():
        console.print(bare_table(size, result["bare"]))
        console.print(api_table(size, result))
        rss = result["serve_rss_mb"]
        console.print(
            f"serve process peak RSS (VmHWM) {rss['VmHWM']:.0f} MiB; cache priming pass "
            f"(809 claims, 4 at a time) {result['prime_seconds']:.1f} s"
        )
        for path, probe in result["probes"].items():
            console.print(
                f"GET {path}, 1 client: p50/p95 {probe['p50']:.2f}/{probe['p95']:.2f} ms, "
                f"{probe['rps']:.0f} req/s"
            )
    for line in verdicts(report):
        console.print(line)


# ---------------------------------------------------------------------------------------------
# Main.


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ints = lambda s: [int(x) for x in s.split(",") if x]  # noqa: E731
    parser.add_argument("--sizes", type=ints, default=[10_000, 100_000])
    parser.add_argument("--clients", type=ints, default=[1, 4, 16])
    parser.add_argument("--duration", type=int, default=20, help="seconds per wrk run")
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/rg-load"))  # noqa: S108
    parser.add_argument("--dataset", type=Path, default=DATASET)
    parser.add_argument("--bare-queries", type=int, default=None, help="default: all claims")
    parser.add_argument(
        "--wait-quiet", type=float, default=0, help="wait up to this many s for idle cores"
    )
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument(
        "--processes", type=int, default=1, help="ragaas serve --processes (app processes)"
    )
    parser.add_argument("--json-out", type=Path)
    parser.add_argument(
        "--prepare-only", action="store_true", help="build the data, measure nothing"
    )
    return parser.parse_args()


async def prepare(runtime: Runtime, args: argparse.Namespace, console: Console) -> list[Tenant]:
    """Base vectors, then every size's organisation (built only if missing), then VACUUM."""
    passages = base_passages(args.dataset)
    needed = min(len(passages), max(args.sizes))
    console.print(f"{len(passages)} base passages of ~{CHUNK_WORDS} words; need {needed} vectors")
    texts = [chunk_text(p, 0) for p in passages]
    base = await base_vectors(runtime, texts, needed, args.data_dir, console)
    tenants = [await ensure_tenant(runtime, s, passages, base, console) for s in args.sizes]
    if any(t.load for t in tenants):
        console.print(f"VACUUM ANALYZE in {await vacuum_analyze(runtime.url):.0f} s")
    return tenants


async def run(args: argparse.Namespace, console: Console) -> dict[int, dict[str, Any]]:
    settings = Settings(data_dir=args.data_dir, seed_demo=False, log_level="WARNING")
    runtime = await asyncio.to_thread(build_runtime, settings)
    await asyncio.to_thread(migrate.upgrade, runtime.url)
    report: dict[int, dict[str, Any]] = {}
    try:
        tenants = await prepare(runtime, args, console)
        claims = read_claims(args.dataset)
        for tenant in tenants if not args.prepare_only else []:
            console.print(f"{tenant.name}: measuring")
            report[tenant.size] = await measure_size(runtime, tenant, claims, args, console)
    finally:
        await runtime.close()
    return report


def main() -> None:
    """Build the data if needed, measure, print the tables (and write JSON if asked)."""
    args = parse_args()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.WARNING)
    console = Console(width=180)
    started = datetime.now().astimezone()
    report = asyncio.run(run(args, console))
    print_report(report, console)
    if args.json_out:
        meta = {"started": started.isoformat(), "args": {k: str(v) for k, v in vars(args).items()}}
        args.json_out.write_text(json.dumps({"meta": meta, "sizes": report}, indent=2))


if __name__ == "__main__":
    main()
