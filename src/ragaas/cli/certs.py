"""``ragaas certs``: certificates for TLS between nginx and the API (mTLS)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ragaas.certs.pki import init_mtls
from ragaas.cli.common import console, fail, load_settings, split_list

app = typer.Typer(help="Certificates for internal mTLS between nginx and the API.")


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
) -> None:
    """Create a private CA, the API's server certificate and nginx's client certificate."""
    directory = out if out is not None else load_settings().data_dir / "certs"
    try:
        paths, written = init_mtls(directory, split_list(names), force=force)
    except FileExistsError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write certificates to {directory}: {exc.strerror or exc}")
    if not written:
        console.print(f"Certificates already in {directory}; kept (use --force to replace).")
        return
    console.print(f"Wrote a private CA and mTLS certificates to {directory}:")
    console.print(f"  CA:     {paths.ca_cert.name}, {paths.ca_key.name} (keep the key offline)")
    console.print(f"  API:    {paths.server_cert.name}, {paths.server_key.name}")
    console.print(f"  nginx:  {paths.client_cert.name}, {paths.client_key.name}")
    console.print("Run the API with:", soft_wrap=True)
    console.print(
        f"  ragaas serve --ssl-certfile {paths.server_cert} --ssl-keyfile {paths.server_key} "
        f"--ssl-ca-certs {paths.ca_cert}",
        markup=False,
        soft_wrap=True,
    )
