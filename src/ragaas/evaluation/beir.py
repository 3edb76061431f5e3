"""Loading a dataset in the BEIR layout: corpus.jsonl, queries.jsonl and qrels/SPLIT.tsv."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Qrels = dict[str, dict[str, int]]


@dataclass(frozen=True)
class BeirDocument:
    doc_id: str
    title: str
    text: str


@dataclass(frozen=True)
class BeirDataset:
    name: str
    split: str
    corpus: list[BeirDocument]
    queries: dict[str, str]
    qrels: Qrels


def load_beir(path: Path, split: str = "train", limit_queries: int | None = None) -> BeirDataset:
    """Read a BEIR dataset directory; only queries with relevance judgements are kept."""
    qrels = read_qrels(path / "qrels" / f"{split}.tsv")
    queries = {qid: text for qid, text in read_queries(path / "queries.jsonl") if qid in qrels}
    if limit_queries is not None:
        queries = dict(list(queries.items())[:limit_queries])
    qrels = {qid: judged for qid, judged in qrels.items() if qid in queries}
    corpus = list(read_corpus(path / "corpus.jsonl"))
    return BeirDataset(path.resolve().name, split, corpus, queries, qrels)


def read_corpus(path: Path) -> Iterator[BeirDocument]:
    """The documents of corpus.jsonl, in file order."""
    for record in _jsonl(path):
        yield BeirDocument(str(record["_id"]), record.get("title") or "", record.get("text") or "")


def read_queries(path: Path) -> Iterator[tuple[str, str]]:
    """(query id, text) pairs of queries.jsonl, in file order."""
    for record in _jsonl(path):
        yield str(record["_id"]), str(record["text"])


def read_qrels(path: Path) -> Qrels:
    """Positive judgements of a qrels TSV (header line; LF or CRLF endings)."""
    qrels: Qrels = {}
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        fields = line.strip().split("\t")
        if not line.strip() or (number == 0 and not fields[-1].lstrip("-").isdigit()):
            continue  # blank line, or the "query-id corpus-id score" header
        if len(fields) != 3:
            raise ValueError(f"{path}:{number + 1}: expected 3 tab-separated fields")
        query_id, doc_id, score = fields[0], fields[1], int(fields[2])
        # Score 0 means judged not relevant (as in pytrec_eval); it adds nothing to these metrics.
        if score > 0:
            qrels.setdefault(query_id, {})[doc_id] = score
    return qrels


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                record: dict[str, Any] = json.loads(line)
                yield record
