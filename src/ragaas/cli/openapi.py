"""``ragaas openapi``: print the API's OpenAPI document, e.g. to generate typed clients from it.

The document is built from the application's routes alone (no database, no models loaded), and
printed with stable formatting so a committed copy (``sdk/typescript/openapi.json``) diffs cleanly.
"""

from __future__ import annotations

import json
from typing import Any

import typer

from ragaas.cli.common import load_settings

app = typer.Typer()


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of the app the current settings would serve."""
    from ragaas.app import create_app  # the app pulls in the whole server: only when asked

    document: dict[str, Any] = create_app(load_settings()).openapi()
    return document


def render(document: dict[str, Any]) -> str:
    """The document as stable, diff-friendly JSON text (2-space indents, trailing newline)."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


@app.command("openapi")
def openapi() -> None:
    """Print the OpenAPI document (JSON) on stdout."""
    typer.echo(render(openapi_document()), nl=False)
