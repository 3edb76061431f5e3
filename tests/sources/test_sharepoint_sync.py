"""A `sharepoint` source against a local Graph + Entra stand-in: delta sync, failures, secrets."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import Tenant, serve_in_thread
from tests.sources.graph_server import FakeDrive, create_app
from tests.sources.helpers import (
    chunk_ids,
    counts,
    create_source,
    source_documents,
    sync_and_wait,
)


@pytest.fixture
def drive() -> Iterator[tuple[FakeDrive, str]]:
    """A library with three files (one in a subfolder) and an empty folder; and its base URL."""
    fake = FakeDrive()
    fake.add_file("Alpha.md", "# Alpha\n\nAlpacas graze on the high plateau.", "text/markdown")
    fake.add_file("Beta.txt", "Beekeepers harvest honey at the end of summer.")
    fake.add_file(
        "Guides/Gamma.html",
        "<html><head><title>Gamma</title></head><body><p>Gannets dive.</p></body></html>",
        "text/html",
    )
    fake.folder("Empty folder")
    with serve_in_thread(create_app(fake)) as base:
        yield fake, base


def _config(fake: FakeDrive, base: str, **extra: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "tenant_id": fake.tenant_id,
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
        "drive_id": fake.drive_id,
        "graph_base_url": f"{base}/v1.0",
        "login_base_url": base,
    }
    return {**config, **extra}


def _delta_calls(fake: FakeDrive, since: int = 0) -> list[str]:
    return [line for line in fake.log[since:] if "/root/delta" in line]


async def test_sharepoint_source_syncs_by_delta(
    client: httpx.AsyncClient, tenant: Tenant, drive: tuple[FakeDrive, str]
) -> None:
    fake, base = drive
    source = await create_source(
        client, tenant, name="Handbook", type="sharepoint", config=_config(fake, base)
    )
    assert source["config"]["client_secret"] == "********"
    shown = await client.get(f"/v1/data-sources/{source['id']}", headers=tenant.headers)
    assert shown.json()["config"]["client_secret"] == "********"
    assert fake.client_secret not in shown.text

    first = await sync_and_wait(client, tenant, source["id"])
    assert first["status"] == "succeeded", first
    assert counts(first) == {"added": 3}
    assert len(_delta_calls(fake)) == 3  # 3 files + 2 folders + root, 2 a page: nextLinks
    docs = {d["filename"]: d for d in await source_documents(client, tenant, source["id"])}
    assert set(docs) == {"Alpha.md", "Beta.txt", "Gamma.html"}
    gamma = docs["Gamma.html"]
    assert gamma["external_id"] == fake.id_of("Guides/Gamma.html")
    assert gamma["title"] == "Gamma"
    assert gamma["url"].endswith("/Shared%20Documents/Guides/Gamma.html")
    assert gamma["metadata"]["path"] == "Guides/Gamma.html"
    assert gamma["metadata"]["last_modified_by"] == "Megan Bowen"
    assert gamma["metadata"]["etag"].endswith(',1"')
    assert docs["Alpha.md"]["content_type"] == "text/markdown"
    kept = await chunk_ids(client, tenant, docs["Alpha.md"]["id"])

    fake.update_file(fake.id_of("Beta.txt"), "Beekeepers harvest honey in late August.")
    fake.delete(fake.id_of("Guides/Gamma.html"))
    fake.add_file("Guides/Delta.md", "Dolphins sleep with one half of the brain at a time.")
    fake.downloads.clear()

    second = await sync_and_wait(client, tenant, source["id"])
    assert second["status"] == "succeeded", second
    assert counts(second) == {"added": 1, "updated": 1, "deleted": 1}
    assert second["counts"]["seen"] == 2  # the unchanged file was not even listed
    assert sorted(fake.downloads) == ["Beta.txt", "Guides/Delta.md"]
    docs = {d["filename"]: d for d in await source_documents(client, tenant, source["id"])}
    assert set(docs) == {"Alpha.md", "Beta.txt", "Delta.md"}
    assert await chunk_ids(client, tenant, docs["Alpha.md"]["id"]) == kept
    assert docs["Beta.txt"]["metadata"]["etag"].endswith(',2"')
    beta = await client.get(
        f"/v1/documents/{docs['Beta.txt']['id']}/chunks", headers=tenant.headers
    )
    assert "late August" in beta.json()[0]["content"]

    # Nothing changed, and Graph throttles twice: the connector waits (Retry-After) and succeeds.
    fake.throttle(2)
    fake.downloads.clear()
    logged = len(fake.log)
    third = await sync_and_wait(client, tenant, source["id"])
    assert third["status"] == "succeeded", third
    assert counts(third) == {}
    assert fake.downloads == []
    assert [line.rsplit(" ", 1)[1] for line in fake.log[logged:]][-3:] == ["429", "429", "200"]


async def test_a_wrong_client_secret_fails_the_run_clearly(
    client: httpx.AsyncClient, tenant: Tenant, drive: tuple[FakeDrive, str]
) -> None:
    fake, base = drive
    wrong = "Q~not-the-secret-" + "x" * 20
    config = _config(fake, base, client_secret=wrong)
    source = await create_source(client, tenant, name="Wrong", type="sharepoint", config=config)
    run = await sync_and_wait(client, tenant, source["id"])
    assert run["status"] == "failed"
    error = run["errors"][-1]["error"]
    assert "(invalid_client: AADSTS7000215: Invalid client secret provided." in error, error
    assert f"app {fake.client_id}" in error
    assert "\n" not in error
    assert "Trace ID" not in error
    assert wrong not in error
    assert fake.client_secret not in error
    assert await source_documents(client, tenant, source["id"]) == []
    assert not any("/v1.0/" in line for line in fake.log)  # no Graph call without a token


async def test_an_unreachable_graph_fails_the_run_clearly(
    client: httpx.AsyncClient, tenant: Tenant, drive: tuple[FakeDrive, str]
) -> None:
    fake, base = drive
    with socket.socket() as closed:  # bound, never listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{closed.getsockname()[1]}/v1.0"
        config = _config(fake, base, graph_base_url=nowhere)
        source = await create_source(client, tenant, name="Down", type="sharepoint", config=config)
        run = await sync_and_wait(client, tenant, source["id"])
    assert run["status"] == "failed"
    error = run["errors"][-1]["error"]
    assert error.startswith(f"cannot reach {nowhere}:"), error


async def test_an_expired_delta_token_re_enumerates_and_deletes_what_is_gone(
    client: httpx.AsyncClient, tenant: Tenant, drive: tuple[FakeDrive, str]
) -> None:
    fake, base = drive
    source = await create_source(
        client, tenant, name="Expiring", type="sharepoint", config=_config(fake, base)
    )
    first = await sync_and_wait(client, tenant, source["id"])
    assert counts(first) == {"added": 3}

    fake.delete(fake.id_of("Beta.txt"))
    fake.add_file("Epsilon.md", "Eels migrate to the Sargasso Sea to spawn.")
    fake.expire_tokens()
    logged = len(fake.log)

    second = await sync_and_wait(client, tenant, source["id"])
    assert second["status"] == "succeeded", second
    assert counts(second) == {"added": 1, "unchanged": 2, "deleted": 1}
    statuses = [line.rsplit(" ", 1)[1] for line in _delta_calls(fake, logged)]
    assert statuses == ["410", "200", "200", "200"]  # then the whole drive, 2 items a page
    docs = {d["filename"] for d in await source_documents(client, tenant, source["id"])}
    assert docs == {"Alpha.md", "Gamma.html", "Epsilon.md"}

    # The new delta link works: the next sync is incremental again.
    logged = len(fake.log)
    third = await sync_and_wait(client, tenant, source["id"])
    assert counts(third) == {}
    assert third["counts"]["seen"] == 0
    assert [line.rsplit(" ", 1)[1] for line in _delta_calls(fake, logged)] == ["200"]


async def test_a_site_folder_and_pattern_limit_the_files(
    client: httpx.AsyncClient, tenant: Tenant, drive: tuple[FakeDrive, str]
) -> None:
    fake, base = drive
    fake.add_file("HR Policies/Leave.md", "Annual leave is twenty-five days a year.")
    fake.add_file("HR Policies/Archive/Old leave.md", "Annual leave was twenty days in 2019.")
    fake.add_file("HR Policies/notes.txt", "Not a markdown file, so not taken.")
    fake.add_file("HR Policiesque/Other.md", "A sibling folder whose name shares a prefix.")
    config = _config(fake, base, folder="/HR Policies/", pattern="*.MD")
    del config["drive_id"]
    config["site_id"] = fake.site_id
    source = await create_source(client, tenant, name="HR", type="sharepoint", config=config)

    first = await sync_and_wait(client, tenant, source["id"])
    assert first["status"] == "succeeded", first
    assert counts(first) == {"added": 2}
    docs = {d["metadata"]["path"] for d in await source_documents(client, tenant, source["id"])}
    assert docs == {"HR Policies/Leave.md", "HR Policies/Archive/Old leave.md"}

    # Parents are not in this delta feed (Graph does not promise them): paths come from
    # GET /items/{folder-id}, whose parentReference.path is percent-encoded.
    fake.include_ancestors = False
    fake.move(fake.id_of("HR Policies/Leave.md"), "Elsewhere")
    fake.add_file("HR Policies/Archive/Sick leave.md", "Sick leave needs a note after 3 days.")
    logged = len(fake.log)
    second = await sync_and_wait(client, tenant, source["id"])
    assert second["status"] == "succeeded", second
    assert counts(second) == {"added": 1, "deleted": 1}
    assert any("/items/" in line and "/content" not in line for line in fake.log[logged:])
    docs = {d["metadata"]["path"] for d in await source_documents(client, tenant, source["id"])}
    assert docs == {"HR Policies/Archive/Old leave.md", "HR Policies/Archive/Sick leave.md"}


async def test_failed_downloads_are_reported_and_retried_at_the_next_sync(
    client: httpx.AsyncClient, tenant: Tenant, drive: tuple[FakeDrive, str]
) -> None:
    fake, base = drive
    fake.add_file("Huge.txt", "x" * 3000)
    fake.fail_content[fake.id_of("Beta.txt")] = 1
    config = _config(fake, base, max_bytes=2000)
    source = await create_source(client, tenant, name="Flaky", type="sharepoint", config=config)

    first = await sync_and_wait(client, tenant, source["id"])
    assert first["status"] == "succeeded", first
    assert counts(first) == {"added": 2, "failed": 2}
    errors = {e["external_id"]: e["error"] for e in first["errors"]}
    assert errors == {
        fake.id_of("Huge.txt"): "3000 bytes, over max_bytes",
        fake.id_of("Beta.txt"): "download failed: 500 generalException: "
        "An unspecified error has occurred.",
    }

    # Nothing changed in the drive: the failed download is fetched again by id, the too large
    # file is not (it comes back when it changes, or with a new max_bytes).
    second = await sync_and_wait(client, tenant, source["id"])
    assert second["status"] == "succeeded", second
    assert counts(second) == {"added": 1}
    names = {d["filename"] for d in await source_documents(client, tenant, source["id"])}
    assert names == {"Alpha.md", "Beta.txt", "Gamma.html"}


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"drive_id": None}, "drive_id or site_id"),
        ({"site_id": "contoso.sharepoint.com,a,b"}, "drive_id or site_id"),
        ({"graph_base_url": "http://graph.example.com/v1.0"}, "graph_base_url"),
        ({"login_base_url": "ftp://login.example.com"}, "login_base_url"),
        ({"tenant_id": "../evil"}, "tenant_id"),
        ({"client_secret": None}, "client_secret"),
    ],
)
async def test_config_is_validated(
    client: httpx.AsyncClient, tenant: Tenant, change: dict[str, Any], named: str
) -> None:
    config = _config(FakeDrive(), "http://127.0.0.1:9") | change
    config = {k: v for k, v in config.items() if v is not None}
    body = {"name": "Bad", "type": "sharepoint", "config": config}
    response = await client.post("/v1/data-sources", json=body, headers=tenant.headers)
    assert response.status_code == 422, response.text
    assert named in response.json()["detail"]
