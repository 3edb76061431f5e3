"""``ragaas eval``: measure retrieval quality and speed on a BEIR dataset."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ragaas.cli.common import console, err_console, fail, load_settings, print_json
from ragaas.errors import AppError
from ragaas.evaluation.beir import load_beir
from ragaas.evaluation.metrics import METRICS
from ragaas.evaluation.runner import EvalOptions, EvalReport, run_beir
from ragaas.retrieval.schemas import SearchMode

eval_app = typer.Typer(help="Evaluate retrieval quality and speed.", no_args_is_help=True)

MODE_CHOICES = ("dense", "lexical", "hybrid", "all")


@eval_app.callback()
def _group() -> None:
    """Evaluate retrieval quality and speed."""


@eval_app.command()
def beir(
    directory: Annotated[
        Path,
        typer.Argument(
            help="BEIR dataset directory (corpus.jsonl, queries.jsonl, qrels/).",
            exists=True,
            file_okay=False,
        ),
    ],
    split: Annotated[str, typer.Option(help="Qrels split: qrels/SPLIT.tsv.")] = "train",
    mode: Annotated[str, typer.Option(help="dense, lexical, hybrid or all.")] = "all",
    limit_queries: Annotated[
        int | None, typer.Option(min=1, help="Evaluate only the first N judged queries.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    keep: Annotated[bool, typer.Option(help="Keep the evaluation organisation.")] = False,
    organization_id: Annotated[
        uuid.UUID | None,
        typer.Option("--organization-id", help="Re-score an organisation kept by --keep."),
    ] = None,
    worker: Annotated[
        bool, typer.Option(help="Run a job worker in-process (else `ragaas worker`s ingest).")
    ] = True,
) -> None:
    """Ingest a BEIR corpus into a fresh organisation and score search on its queries."""
    options = EvalOptions(
        modes=parse_modes(mode),
        worker=worker,
        keep=keep,
        show_progress=not as_json,
        organization_id=organization_id,
    )
    settings = load_settings()
    try:
        dataset = load_beir(directory, split, limit_queries)
    except (OSError, ValueError, KeyError) as exc:
        fail(f"cannot read the BEIR dataset in {directory}: {exc}")
    if not dataset.queries:
        fail(f"no judged queries in {directory} for split {split!r}")
    try:
        report = asyncio.run(run_beir(settings, dataset, options, console=err_console))
    except AppError as exc:
        fail(exc.message)
    if as_json:
        print_json(report.to_dict())
    else:
        print_report(report, console)


def parse_modes(value: str) -> tuple[SearchMode, ...]:
    """``"all"`` or a comma-separated list of search modes."""
    names = [name.strip().lower() for name in value.split(",") if name.strip()]
    if "all" in names:
        return tuple(SearchMode)
    unknown = [name for name in names if name not in MODE_CHOICES]
    if unknown or not names:
        raise typer.BadParameter(f"choose from {', '.join(MODE_CHOICES)}", param_hint="--mode")
    return tuple(dict.fromkeys(SearchMode(name) for name in names))


def report_table(report: EvalReport) -> Table:
    """Search modes by metric, with per-query latency."""
    title = f"{report.dataset} ({report.split}, {report.queries} queries)"
    table = Table(title=title)
    for column in ("mode", *METRICS, "p50 ms", "p95 ms"):
        table.add_column(column, justify="left" if column == "mode" else "right")
    for mode in report.modes:
        scores = [f"{mode.metrics[name]:.4f}" for name in METRICS]
        latency = [f"{mode.latency_p50_ms:.1f}", f"{mode.latency_p95_ms:.1f}"]
        table.add_row(mode.mode, *scores, *latency)
    return table


def ingestion_summary(report: EvalReport) -> str:
    """One paragraph on ingestion: documents, chunks, rates and the ratio to the bare model."""
    ing, bare = report.ingestion, report.bare
    if ing is None or bare is None:
        return f"re-scored organisation {escape(report.organization)} ({report.organization_id})"
    lines = [
        f"ingested {ing.ready}/{ing.documents} documents into {ing.chunks} chunks "
        f"in {ing.seconds:.1f}s: {ing.chunks_per_second:.1f} chunks/s end to end "
        f"(peak RSS {ing.peak_rss_mb:.0f} MB, service and worker in one process)",
        f"bare model: {bare.passages} passages in {bare.seconds:.1f}s: "
        f"{bare.passages_per_second:.1f} passages/s",
        f"end-to-end / bare = {report.ingestion_ratio:.2f}",
    ]
    if ing.failed:
        shown = escape(", ".join(f"{doc} ({why})" for doc, why in list(ing.failed.items())[:5]))
        lines.append(f"[red]{len(ing.failed)} documents failed[/red]: {shown}")
    if report.kept:
        lines.append(f"kept organisation {escape(report.organization)} ({report.organization_id})")
    return "\n".join(lines)


def print_report(report: EvalReport, out: Console) -> None:
    """The metrics table and the ingestion summary."""
    out.print(report_table(report))
    out.print(ingestion_summary(report), highlight=False)
