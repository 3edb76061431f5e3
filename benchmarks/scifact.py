"""BEIR SciFact through the whole product: ingestion throughput, search quality and latency.

    RAGAAS_DATA_DIR=/tmp/rg-bench python benchmarks/scifact.py [--dataset DIR] [--modes ...]

Ingests the corpus into a fresh organisation with the real pipeline (documents.service.submit,
procrastinate jobs), runs every judged train claim through Searcher.search in each mode, prints
nDCG@10 / Recall@10 / Recall@100 / MRR@10 with latency, and end-to-end chunks/s against the bare
embedding model's passages/s measured in the same run. See docs/evaluation.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
from pathlib import Path

from rich.console import Console

from ragaas.evaluation.beir import load_beir
from ragaas.evaluation.cli import parse_modes, print_report
from ragaas.evaluation.runner import EvalOptions, run_beir
from ragaas.settings import Settings

DEFAULT_DATASET = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "scifact"


def main() -> None:
    """Run the SciFact train-split benchmark and print its numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--modes", default="dense,lexical,hybrid")
    parser.add_argument("--limit-queries", type=int, default=None)
    parser.add_argument("--no-worker", action="store_true", help="external workers ingest")
    parser.add_argument("--json-out", type=Path, help="also write the report as JSON here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    dataset = load_beir(args.dataset, "train", args.limit_queries)
    options = EvalOptions(modes=parse_modes(args.modes), worker=not args.no_worker)
    console = Console()
    report = asyncio.run(run_beir(Settings(), dataset, options, console=console))
    print_report(report, console)
    if args.json_out:
        args.json_out.write_text(json.dumps(report.to_dict(), indent=2))


if __name__ == "__main__":
    main()
