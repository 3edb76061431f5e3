"""``ragaas sources add|list|sync|runs``: data sources through a running server's API."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from ragaas.cli.common import console, err_console, fail, print_json, split_list
from ragaas.cli.data import DEFAULT_URL, Api, ApiError, ApiKeyOption, JsonOption, UrlOption

app = typer.Typer(help="Connected data sources: add, list, sync, and their sync history.")
POLL_SECONDS = 0.5
COUNT_NAMES = ("added", "updated", "unchanged", "deleted", "failed")


def _call(url: str, api_key: str | None, method: str, path: str, **kwargs: Any) -> Any:
    with Api(url, api_key, timeout=60.0) as api:
        try:
            return api.call(method, path, **kwargs)
        except ApiError as exc:
            fail(exc.message)


def _read_config(value: str) -> dict[str, Any]:
    """A JSON object, or @path to a file holding one."""
    raw = Path(value[1:]).read_text() if value.startswith("@") else value
    try:
        config = json.loads(raw)
    except (json.JSONDecodeError, OSError) as exc:
        fail(f"--config is not valid JSON: {exc}")
    if not isinstance(config, dict):
        fail("--config must be a JSON object")
    return config


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="A name for the source.")],
    type_: Annotated[str, typer.Option("--type", help="file, database, ...")],
    config: Annotated[str, typer.Option("--config", help="JSON object, or @file.json.")],
    labels: Annotated[str | None, typer.Option("--labels", help="Comma-separated.")] = None,
    cron: Annotated[str | None, typer.Option("--cron", help="5-field cron (UTC).")] = None,
    url: UrlOption = DEFAULT_URL,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Connect a data source (then `ragaas sources sync ID`)."""
    body = {
        "name": name,
        "type": type_,
        "config": _read_config(config),
        "labels": split_list(labels),
        "cron": cron,
    }
    created = _call(url, api_key, "POST", "/v1/data-sources", json=body)
    if as_json:
        print_json(created)
        return
    console.print(f"added {escape(created['name'])} ({created['type']}): [bold]{created['id']}[/]")
    if created.get("next_sync_at"):
        console.print(f"next scheduled sync: {created['next_sync_at']}")


@app.command("list")
def list_sources(
    url: UrlOption = DEFAULT_URL, api_key: ApiKeyOption = None, as_json: JsonOption = False
) -> None:
    """The organisation's data sources, with their last run."""
    sources = _call(url, api_key, "GET", "/v1/data-sources")
    if as_json:
        print_json(sources)
        return
    table = Table("id", "name", "type", "documents", "schedule", "last run")
    for s in sources:
        last = s.get("last_run")
        table.add_row(
            s["id"],
            escape(s["name"]),
            s["type"],
            str(s["document_count"]),
            s["cron"] or "-",
            f"{last['status']} {_when(last['finished_at'])}".strip() if last else "never",
        )
    console.print(table)


@app.command("sync")
def sync(
    source_id: Annotated[str, typer.Argument(help="The source's id.")],
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Follow the run.")] = True,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to follow it.")] = 3600.0,
    url: UrlOption = DEFAULT_URL,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Sync a source now and show its progress."""
    with Api(url, api_key, timeout=60.0) as api:
        try:
            run = api.call("POST", f"/v1/data-sources/{source_id}/sync")
            if wait:
                run = _follow(api, source_id, run["id"], timeout, quiet=as_json)
        except ApiError as exc:
            fail(exc.message)
    if as_json:
        print_json(run)
    else:
        _print_run(run)
    if run["status"] == "failed" or (wait and run["status"] not in ("succeeded", "failed")):
        raise typer.Exit(1)


def _follow(api: Api, source_id: str, run_id: str, timeout: float, quiet: bool) -> Any:
    deadline = time.monotonic() + timeout
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=err_console, disable=quiet, transient=True) as progress:
        task = progress.add_task("queued")
        while True:
            runs = api.call("GET", f"/v1/data-sources/{source_id}/runs")
            run = next((r for r in runs if r["id"] == run_id), None)
            if run is None:
                raise ApiError(f"run {run_id} disappeared (was the source deleted?)")
            progress.update(task, description=f"{run['status']}: {_counts(run)}")
            if run["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
                return run
            time.sleep(POLL_SECONDS)


def _when(timestamp: str | None) -> str:
    """ISO timestamp to 'YYYY-MM-DD HH:MM:SS' (UTC, as the server sends it)."""
    return (timestamp or "")[:19].replace("T", " ")


def _counts(run: dict[str, Any]) -> str:
    counts = run.get("counts") or {}
    seen = counts.get("seen", 0)
    return f"{seen} seen, " + ", ".join(f"{counts.get(n, 0)} {n}" for n in COUNT_NAMES)


def _print_run(run: dict[str, Any]) -> None:
    colour = {"succeeded": "green", "failed": "red"}.get(run["status"], "yellow")
    console.print(f"[{colour}]{run['status']}[/]: {_counts(run)}")
    for error in run.get("errors") or []:
        item = f"{error['external_id']}: " if error.get("external_id") else ""
        err_console.print(f"  {escape(item + error['error'])}", soft_wrap=True)


@app.command("runs")
def runs(
    source_id: Annotated[str, typer.Argument(help="The source's id.")],
    limit: Annotated[int, typer.Option("--limit", help="How many, newest first.")] = 20,
    url: UrlOption = DEFAULT_URL,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """A source's sync history."""
    history = _call(
        url, api_key, "GET", f"/v1/data-sources/{source_id}/runs", params={"limit": limit}
    )
    if as_json:
        print_json(history)
        return
    table = Table("started", "trigger", "status", *COUNT_NAMES, "errors")
    for r in history:
        c = r.get("counts") or {}
        table.add_row(
            _when(r["started_at"] or r["created_at"]),
            r["trigger"],
            r["status"],
            *(str(c.get(n, 0)) for n in COUNT_NAMES),
            str(len(r.get("errors") or [])),
        )
    console.print(table)
