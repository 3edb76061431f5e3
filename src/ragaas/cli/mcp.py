"""``ragaas mcp``: serve the MCP server over stdio (see docs/mcp.md)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Annotated

import typer
from mcp.shared.exceptions import MCPError

from ragaas.cli.common import ensure_schema, fail, load_settings, run
from ragaas.kit.logs import configure_logging
from ragaas.mcp.stdio import check_key, serve_stdio
from ragaas.runtime import Runtime, build_runtime

app = typer.Typer()


@app.command("mcp")
def mcp_command(
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            envvar="RAGAAS_API_KEY",
            help="The API key whose scopes decide the tools (prefer the environment variable).",
            show_default=False,
        ),
    ] = None,
    workers_in_process: Annotated[
        bool | None,
        typer.Option(
            "--workers-in-process/--no-workers-in-process",
            help="Also run a job worker, so ingested documents get indexed "
            "(default: RAGAAS_WORKERS_IN_PROCESS).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Serve MCP over stdio for a local client, as the API key in RAGAAS_API_KEY."""
    if not api_key:
        fail("set RAGAAS_API_KEY to an API key (rg_...) for the MCP server to act as")
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_json)
    worker = settings.workers_in_process if workers_in_process is None else workers_in_process
    with stdout_to_stderr():
        runtime = build_runtime(settings)  # may start the embedded PostgreSQL
        ensure_schema(settings, runtime.url)
    run(_main(runtime, api_key, worker))


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """stdout is the protocol channel: while starting, whatever writes to it (this process, or a
    child such as the embedded PostgreSQL, which keeps the descriptor it inherits) writes to
    stderr instead."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


async def _main(runtime: Runtime, api_key: str, worker: bool) -> None:
    try:
        try:
            await check_key(runtime, api_key)
        except MCPError as exc:
            fail(f"RAGAAS_API_KEY is not usable: {exc.error.message}")
        await serve_stdio(runtime, api_key, worker=worker)
    finally:
        await runtime.close()
