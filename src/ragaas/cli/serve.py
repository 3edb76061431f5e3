"""``ragaas serve``, ``worker`` and ``migrate``: the long-running processes and the schema."""

from __future__ import annotations

import os
import shlex
import signal
import ssl
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
import uvicorn
from rich.panel import Panel
from rich.table import Table
from sqlalchemy import create_engine, pool

from ragaas import migrate
from ragaas.app import create_app
from ragaas.cli.certs import write_at_start
from ragaas.cli.common import (
    console,
    ensure_schema,
    fail,
    load_settings,
    resolve_database,
    run,
    run_server,
    split_list,
)
from ragaas.demo import DemoCredentials, seed_demo
from ragaas.jobs.supervisor import run_until_signalled
from ragaas.kit.logs import configure_logging
from ragaas.observability.metrics import start_worker_metrics_server
from ragaas.runtime import Runtime, build_runtime
from ragaas.settings import Settings
from ragaas.tenancy.scope import embedded_api_url

app = typer.Typer()

HEALTHCHECK_SECONDS = 60  # --processes: how long an app process may not answer its supervisor
SAMPLE_SEARCH = "How long do I have to return a robot?"
SAMPLE_QUESTION = "How many days of paid holiday do employees get?"


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8000,
    workers_in_process: Annotated[
        bool | None,
        typer.Option(
            "--workers-in-process/--no-workers-in-process",
            help="Run a job worker inside the server (default: RAGAAS_WORKERS_IN_PROCESS).",
            show_default=False,
        ),
    ] = None,
    ssl_certfile: Annotated[
        Path | None,
        typer.Option("--ssl-certfile", help="Serve HTTPS with this PEM certificate (chain)."),
    ] = None,
    ssl_keyfile: Annotated[
        Path | None, typer.Option("--ssl-keyfile", help="The certificate's PEM private key.")
    ] = None,
    ssl_ca_certs: Annotated[
        Path | None,
        typer.Option(
            "--ssl-ca-certs",
            help="Require a client certificate signed by this CA (mTLS; see `ragaas certs init`).",
        ),
    ] = None,
    processes: Annotated[
        int | None,
        typer.Option(
            "--processes",
            min=1,
            max=64,
            help="Answer requests in N processes on one port (default: RAGAAS_API_PROCESSES).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run the API server; migrates the database first, seeds a demo on a fresh embedded one."""
    settings = load_settings()
    if settings.cert_write_at_start:
        write_at_start(settings)  # before the --ssl-* files are checked: they may be among them
    tls = tls_options(ssl_certfile, ssl_keyfile, ssl_ca_certs)
    if workers_in_process is not None:
        settings = settings.model_copy(update={"workers_in_process": workers_in_process})
    configure_logging(settings.log_level, settings.log_json)
    _exit_cleanly_on_signals()
    runtime = build_runtime(settings)
    migrate.upgrade(runtime.url)
    processes = processes or settings.api_processes
    if processes == 1:
        run_server(_serve(runtime, host, port, tls))
        return
    run(_seed(runtime, host, port, tls))
    os.environ.update(process_environment(settings, runtime.url))
    run(runtime.close())
    # uvicorn binds the port here and runs (and restarts, should one die) N app processes; the
    # embedded PostgreSQL, if any, stays in this process and stops when it exits.
    uvicorn.run(
        "ragaas.app:app_from_environment",
        factory=True,
        workers=processes,
        host=host,
        port=port,
        log_config=None,
        lifespan="on",
        # A new process imports the app (torch, the model) before it can answer the supervisor's
        # health check; uvicorn's 5 s default kills it in a loop on a busy machine.
        timeout_worker_healthcheck=HEALTHCHECK_SECONDS,
        **tls,
    )


def process_environment(settings: Settings, url: str) -> dict[str, str]:
    """What the app processes of ``--processes N`` need beyond the inherited RAGAAS_*: the
    database this process started or resolved (the embedded one has no URL in settings), and no
    second demo seeding or certificate writing."""
    env = {
        "RAGAAS_DATABASE_URL": url,
        "RAGAAS_SEED_DEMO": "false",
        "RAGAAS_CERT_WRITE_AT_START": "false",
        # --(no-)workers-in-process may have overridden the environment's setting.
        "RAGAAS_WORKERS_IN_PROCESS": str(settings.workers_in_process).lower(),
    }
    if settings.database_url is None and not settings.api_database_url:
        env["RAGAAS_API_DATABASE_URL"] = embedded_api_url(url)
    return env


def tls_options(
    certfile: Path | None, keyfile: Path | None, ca_certs: Path | None
) -> dict[str, Any]:
    """uvicorn's TLS keyword arguments; with a CA, clients without a valid certificate are refused.

    Checked before anything starts so a typo fails in one line, not deep inside the ssl module.
    """
    if certfile is None and keyfile is None and ca_certs is None:
        return {}
    if certfile is None or keyfile is None:
        fail("--ssl-certfile and --ssl-keyfile go together")
    for option, path in (
        ("--ssl-certfile", certfile),
        ("--ssl-keyfile", keyfile),
        ("--ssl-ca-certs", ca_certs),
    ):
        if path is not None and not path.is_file():
            fail(f"{option}: no such file: {path}")
    options: dict[str, Any] = {"ssl_certfile": str(certfile), "ssl_keyfile": str(keyfile)}
    if ca_certs is not None:
        options |= {"ssl_ca_certs": str(ca_certs), "ssl_cert_reqs": ssl.CERT_REQUIRED}
    return options


async def _seed(runtime: Runtime, host: str, port: int, tls: dict[str, Any] | None) -> None:
    """The demo organisation on a fresh embedded database, its credentials printed once."""
    if should_seed(runtime.settings):
        credentials = await seed_demo(runtime)
        if credentials is not None:
            scheme = "https" if tls else "http"
            print_demo_banner(credentials, public_url(host, port, scheme))


async def _serve(runtime: Runtime, host: str, port: int, tls: dict[str, Any] | None = None) -> None:
    try:
        await _seed(runtime, host, port, tls)
        app = create_app(runtime.settings, runtime)
        # log_config=None keeps our own (JSON) logging for uvicorn's loggers too.
        config = uvicorn.Config(
            app, host=host, port=port, log_config=None, lifespan="on", **(tls or {})
        )
        await uvicorn.Server(config).serve()
    finally:
        await runtime.close()


def should_seed(settings: Settings) -> bool:
    """Seed only the embedded default, never a configured (possibly production) database."""
    return settings.database_url is None and settings.seed_demo


def public_url(host: str, port: int, scheme: str = "http") -> str:
    """The URL a local user types to reach a server bound to ``host``."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104
    if ":" in shown:
        shown = f"[{shown}]"
    return f"{scheme}://{shown}:{port}"


def print_demo_banner(credentials: DemoCredentials, url: str) -> None:
    """The demo's credentials and copy-paste examples, printed once on first start."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(no_wrap=True)
    grid.add_row("URL", url)
    grid.add_row("API docs", f"{url}/docs")
    grid.add_row("Organisation", f"Demo ({credentials.organization_id})")
    grid.add_row("Admin e-mail", credentials.email)
    grid.add_row("Password", credentials.password)
    grid.add_row("API key", credentials.api_key)
    title = "Ragaas demo: shown only once, save these now"
    console.print(Panel(grid, title=title, expand=False, border_style="green"))
    console.print("Four sample documents about Acme Robotics are being ingested. Try:\n")
    for line in demo_examples(credentials.api_key, url):
        console.print(line, markup=False, soft_wrap=True)
    console.print()


def demo_examples(api_key: str, url: str) -> list[str]:
    """curl and CLI commands that work against the seeded demo."""
    auth = shlex.quote(f"Authorization: Bearer {api_key}")
    json_header = shlex.quote("Content-Type: application/json")
    search = shlex.quote(f'{{"query": "{SAMPLE_SEARCH}", "top_k": 3}}')
    chat = shlex.quote(f'{{"query": "{SAMPLE_QUESTION}"}}')
    url_flag = "" if url == "http://127.0.0.1:8000" else f" --url {url}"
    return [
        f"  curl -s {url}/v1/search -H {auth} -H {json_header} -d {search}",
        f"  curl -s {url}/v1/chat -H {auth} -H {json_header} -d {chat}",
        f"  ragaas ask {shlex.quote(SAMPLE_QUESTION)} --api-key {api_key}{url_flag}",
    ]


def _exit_cleanly_on_signals() -> None:
    # uvicorn shuts down gracefully, then re-raises the signal; exiting through SystemExit
    # (not the default SIGTERM action) lets atexit stop the embedded PostgreSQL.
    def handler(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


@app.command()
def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency", min=1, help="Parallel jobs (default: RAGAAS_WORKER_CONCURRENCY)."
        ),
    ] = None,
    queues: Annotated[
        str | None, typer.Option("--queues", help="Comma-separated queues (default: all).")
    ] = None,
) -> None:
    """Run a job worker until SIGINT/SIGTERM; run as many as you like against one database."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_json)
    if settings.worker_metrics_port:
        start_worker_metrics_server(settings.worker_metrics_port)
    runtime = build_runtime(settings)
    ensure_schema(settings, runtime.url)
    run(_work(runtime, concurrency or settings.worker_concurrency, split_list(queues) or None))


async def _work(runtime: Runtime, concurrency: int, queues: list[str] | None) -> None:
    try:
        async with runtime.jobs.open_async():
            # Restarted if the database goes away; the first signal lets running jobs finish.
            options: dict[str, Any] = {"concurrency": concurrency}
            if queues:
                options["queues"] = queues
            await run_until_signalled(runtime.jobs, **options)
    finally:
        await runtime.close()


@app.command("migrate")
def migrate_command() -> None:
    """Apply pending database migrations and print the schema revision."""
    settings = load_settings()
    url = resolve_database(settings)
    migrate.upgrade(url)
    console.print(f"Database schema at revision {current_revision(url)} (head).")


def current_revision(url: str) -> str | None:
    """The revision recorded in the database's alembic_version table."""
    from alembic.runtime.migration import MigrationContext

    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            revision: str | None = MigrationContext.configure(connection).get_current_revision()
            return revision
    finally:
        engine.dispose()
