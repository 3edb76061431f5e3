"""``ragaas certs``: the internal mTLS set, public certificates over ACME, and writing them out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ragaas.certs import service, store
from ragaas.certs.pki import CertPaths, init_mtls
from ragaas.cli.common import (
    console,
    ensure_schema,
    err_console,
    fail,
    load_settings,
    print_json,
    resolve_database,
    run,
    split_list,
)
from ragaas.db import make_engine, make_sessionmaker
from ragaas.models import Certificate
from ragaas.settings import Settings
from ragaas.sources.crypto import SecretError

app = typer.Typer(
    help="Certificates: internal mTLS (nginx <-> API) and public ones over ACME, kept "
    "encrypted in the database."
)
T = TypeVar("T")
Work = Callable[[async_sessionmaker[AsyncSession]], Awaitable[T]]

OutOption = Annotated[
    Path | None,
    typer.Option("--out", help="Directory for the PEM files (default: RAGAAS_CERT_DIR)."),
]
ReloadOption = Annotated[
    str | None,
    typer.Option(
        "--reload-cmd",
        help="Run after writing, e.g. 'nginx -s reload' (default: RAGAAS_CERT_RELOAD_COMMAND).",
    ),
]


def _with_database(settings: Settings, work: Work[T]) -> T:
    """Run ``work`` on a short-lived engine; certificate errors exit with their message."""
    url = resolve_database(settings)
    ensure_schema(settings, url)

    async def main() -> T:
        engine = make_engine(url, pool_size=1)
        try:
            return await work(make_sessionmaker(engine))
        finally:
            await engine.dispose()

    try:
        return run(main())
    except (service.CertificateError, SecretError, ValueError) as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))


def _days_left(row: Certificate, now: datetime) -> int:
    return (row.not_after - now).days


@app.command("init")
def init(
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Directory for the PEM files (default: data_dir/certs)."),
    ] = None,
    names: Annotated[
        str | None,
        typer.Option(
            "--name",
            help="Extra comma-separated DNS names or IPs for the API's server certificate "
            "(localhost and 127.0.0.1 are always included), e.g. api for Compose.",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing set (restart API and nginx).")
    ] = False,
    no_store: Annotated[
        bool,
        typer.Option("--no-store", help="Only write the files; keep nothing in the database."),
    ] = False,
) -> None:
    """Create a private CA, the API's server certificate and nginx's client certificate."""
    settings = load_settings()
    directory = out if out is not None else settings.data_dir / "certs"
    paths = CertPaths(directory)
    if not no_store and not force and not any(p.exists() for p in paths.all()):

        async def stored(sessions: async_sessionmaker[AsyncSession]) -> int:
            async with sessions() as session:
                return len(await service.stored_mtls(session))

        if _with_database(settings, stored):
            fail(
                "the database already holds an mTLS set: write it out with "
                f"`ragaas certs write --out {directory.parent}`, or create a new one with --force"
            )
    try:
        paths, written = init_mtls(directory, split_list(names), force=force)
    except FileExistsError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write certificates to {directory}: {exc.strerror or exc}")
    if not no_store:
        _store_init(settings, paths, replace=written)
    if not written:
        console.print(f"Certificates already in {directory}; kept (use --force to replace).")
        return
    console.print(f"Wrote a private CA and mTLS certificates to {directory}:")
    console.print(f"  CA:     {paths.ca_cert.name}, {paths.ca_key.name} (keep the key offline)")
    console.print(f"  API:    {paths.server_cert.name}, {paths.server_key.name}")
    console.print(f"  nginx:  {paths.client_cert.name}, {paths.client_key.name}")
    if not no_store:
        console.print("Stored them in the database, keys encrypted (`ragaas certs list`).")
    console.print("Run the API with:", soft_wrap=True)
    console.print(
        f"  ragaas serve --ssl-certfile {paths.server_cert} --ssl-keyfile {paths.server_key} "
        f"--ssl-ca-certs {paths.ca_cert}",
        markup=False,
        soft_wrap=True,
    )


def _store_init(settings: Settings, paths: CertPaths, *, replace: bool) -> None:
    """Store a new set; a kept set only when the database has none yet (an older install)."""

    async def work(sessions: async_sessionmaker[AsyncSession]) -> None:
        async with sessions() as session:
            if replace or not await service.stored_mtls(session):
                await service.store_mtls(session, settings, paths)
                await session.commit()

    _with_database(settings, work)


@app.command("issue")
def issue(
    domains: Annotated[
        list[str],
        typer.Option("--domain", help="A name for the certificate; repeat for more (first: CN)."),
    ],
    email: Annotated[
        str | None,
        typer.Option("--email", help="ACME account contact (expiry notices from the CA)."),
    ] = None,
    name: Annotated[
        str, typer.Option("--name", help="Stored name; 'public' is the one nginx serves.")
    ] = "public",
    directory: Annotated[
        str | None,
        typer.Option("--directory", help="ACME directory (default: RAGAAS_ACME_DIRECTORY_URL)."),
    ] = None,
    challenge: Annotated[
        str, typer.Option("--challenge", help="Challenge type; http-01 is supported.")
    ] = "http-01",
    webroot: Annotated[
        Path | None,
        typer.Option("--webroot", help="Answer http-01 with files under DIR (served by nginx)."),
    ] = None,
    http_port: Annotated[
        int | None,
        typer.Option("--http-port", help="Answer http-01 with a built-in server on this port."),
    ] = None,
    ca_bundle: Annotated[
        Path | None,
        typer.Option("--ca-bundle", help="Trust this CA for the ACME server (e.g. pebble's)."),
    ] = None,
    out: OutOption = None,
    reload_command: ReloadOption = None,
) -> None:
    """Get a certificate over ACME (Let's Encrypt by default), store it and write it out."""
    if challenge != "http-01":
        fail(f"--challenge {challenge}: only http-01 is supported")
    settings = load_settings()
    if ca_bundle is not None:
        settings = settings.model_copy(update={"acme_ca_bundle": ca_bundle})
    try:
        method = service.challenge_from(settings, webroot, http_port)
    except service.CertificateError as exc:
        fail(str(exc))
    request = service.IssueRequest(
        domains=list(dict.fromkeys(d.strip().lower() for d in domains)),
        email=email, name=name, directory=directory, challenge=method,
    )  # fmt: skip
    target = out or settings.certificate_dir()

    async def work(sessions: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
        async with sessions() as session:
            row = await service.issue(session, settings, request)
            await session.commit()
            written = await service.write_all(session, settings, target)
            return {**_summary(row, datetime.now(UTC)), "written": [str(p) for p in written]}

    result = _with_database(settings, work)
    console.print(
        f"Issued {escape(result['name'])} for {', '.join(result['domains'])} "
        f"(valid until {result['not_after']:%Y-%m-%d}); wrote {len(result['written'])} files "
        f"to {target}"
    )
    _reload(reload_command or settings.cert_reload_command)


def _reload(command: str | None) -> None:
    if not command:
        return
    try:
        service.run_reload(command)
    except service.CertificateError as exc:
        fail(str(exc))
    console.print(f"Ran {escape(command)}")


@app.command("renew")
def renew(
    days: Annotated[
        int | None,
        typer.Option(
            "--days", help="Renew what expires within N days (default: RAGAAS_CERT_RENEW_DAYS)."
        ),
    ] = None,
    out: OutOption = None,
    reload_command: ReloadOption = None,
) -> None:
    """Renew every stored ACME certificate that expires soon; write out and reload if any was."""
    settings = load_settings()

    async def work(sessions: async_sessionmaker[AsyncSession]) -> service.RenewReport:
        return await service.renew_and_deploy(
            sessions, settings, days=days, force=True, out=out, reload_command=reload_command
        )

    report = _with_database(settings, work)
    for renewed in report.renewed:
        console.print(f"renewed {escape(renewed)}")
    for skipped in report.skipped:
        console.print(f"skipped {escape(skipped)} (being renewed elsewhere)")
    if report.renewed:
        command = reload_command or settings.cert_reload_command
        written = f"wrote {len(report.written)} files to {out or settings.certificate_dir()}"
        console.print(written + (f"; ran {escape(command)}" if command else ""))
    elif not report.failed:
        console.print("nothing to renew")
    if report.failed:
        failures = "; ".join(f"{n}: {e}" for n, e in report.failed.items())
        fail(f"renewal failed for {failures}")


def _summary(row: Certificate, now: datetime) -> dict[str, Any]:
    return {
        "name": row.name,
        "kind": row.kind,
        "domains": list(row.domains),
        "serial": row.serial,
        "issuer": row.issuer,
        "not_after": row.not_after,
        "days_left": _days_left(row, now),
        "renew_error": row.renew_error,
    }


@app.command("list")
def list_certificates(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """The stored certificates: name, domains, expiry and days left."""
    settings = load_settings()

    async def work(sessions: async_sessionmaker[AsyncSession]) -> list[dict[str, Any]]:
        async with sessions() as session:
            now = datetime.now(UTC)
            return [_summary(row, now) for row in await store.all_certificates(session)]

    rows = _with_database(settings, work)
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("no certificates stored (`ragaas certs init`, `ragaas certs issue`)")
        return
    table = Table()
    table.add_column("name", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("domains")
    table.add_column("not after", no_wrap=True)
    table.add_column("days left", justify="right", no_wrap=True)
    table.add_column("last renewal error")
    for row in rows:
        table.add_row(
            escape(row["name"]), row["kind"], escape(", ".join(row["domains"])),
            f"{row['not_after']:%Y-%m-%d %H:%M} UTC", str(row["days_left"]),
            escape(row["renew_error"] or ""),
        )  # fmt: skip
    console.print(table)


def write_at_start(settings: Settings) -> None:
    """Write the stored certificates out before the server starts; a failure is a warning (the
    files already there keep serving), never a refusal to start."""
    target = settings.certificate_dir()
    url = resolve_database(settings)
    ensure_schema(settings, url)

    async def work() -> list[Path]:
        engine = make_engine(url, pool_size=1)
        try:
            async with make_sessionmaker(engine)() as session:
                return await service.write_all(session, settings, target)
        finally:
            await engine.dispose()

    try:
        written = run(work())
    except (service.CertificateError, OSError) as exc:
        message = escape(f"stored certificates not written: {exc}")
        err_console.print(f"[yellow]warning:[/yellow] {message}")
        return
    if written:
        err_console.print(f"wrote {len(written)} certificate files to {target}")


@app.command("write")
def write(out: OutOption = None) -> None:
    """Write every stored certificate as PEM files (keys 0600), e.g. at container start."""
    settings = load_settings()
    target = out or settings.certificate_dir()

    async def work(sessions: async_sessionmaker[AsyncSession]) -> list[Path]:
        async with sessions() as session:
            return await service.write_all(session, settings, target)

    written = _with_database(settings, work)
    console.print(f"wrote {len(written)} files to {target}")
    for path in written:
        console.print(f"  {path.relative_to(target)}")
