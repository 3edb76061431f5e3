"""An `api` source on a real local JSON API: pages, cursors, links and offsets become documents."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from ragaas.runtime import Runtime
from ragaas.sources import config as source_config
from ragaas.sources.connectors.api import MISSING, render, resolve
from tests.conftest import Tenant, serve_in_thread
from tests.sources.api_server import FakeApi, article, create_app
from tests.sources.helpers import chunk_ids, counts, create_source, source_documents, sync_and_wait

BODIES = [
    "Alpacas graze on the high plateau every morning.",
    "Beekeepers harvest honey at the end of summer.",
    "Gannets dive for fish from thirty metres.",
    "Dolphins sleep with one half of the brain at a time.",
    "Ermines turn white in winter.",
]
MAPPING = {
    "id_path": "id",
    "title_path": "attributes.title",
    "content_paths": ["attributes.body", "attributes.facts"],
    "url_path": "https://kb.example/articles/{id}",
    "metadata_paths": {"author": "author.name", "first_tag": "attributes.facts.tags.0"},
    "updated_at_path": "updated",
}


@pytest.fixture
def api() -> Iterator[tuple[FakeApi, str]]:
    """The fake API with five articles, served on a loopback port."""
    state = FakeApi(records=[article(n, body) for n, body in enumerate(BODIES, start=1)])
    with serve_in_thread(create_app(state)) as base:
        yield state, base


def _config(style: str, state: FakeApi, base: str) -> dict[str, Any]:
    """A working config per pagination style; each endpoint wants its own kind of auth."""
    configs: dict[str, dict[str, Any]] = {
        "page": {
            "url": f"{base}/page?sort=id",
            "auth": "bearer",
            "token": state.token,
            "pagination": {"type": "page", "size_param": "per_page", "size": 2},
            "records_path": "data.items",
        },
        "cursor": {
            "url": f"{base}/cursor",
            "params": {"lang": "en"},
            "headers": {"Accept-Language": "en"},
            "auth": "header",
            "auth_name": "X-Api-Key",
            "token": state.api_key,
            "pagination": {"type": "cursor", "cursor_path": "meta.next", "cursor_param": "after"},
            "records_path": "results",
        },
        "link": {
            "url": f"{base}/link",
            "auth": "basic",
            "username": state.username,
            "password": state.password,
            "pagination": {"type": "link"},
        },
        "offset": {
            "url": f"{base}/search",
            "method": "POST",
            "body": {"query": "kb"},
            "auth": "query",
            "auth_name": "api_key",
            "token": state.api_key,
            "pagination": {"type": "offset", "limit": 2},
            "pagination_in": "body",
            "records_path": "hits",
        },
    }
    return {**configs[style], **MAPPING}


# Requests for five records, two per page: page and offset stop at an empty page.
REQUESTS = {"page": 4, "cursor": 3, "link": 3, "offset": 4}
PATHS = {"page": "/page", "cursor": "/cursor", "link": "/link", "offset": "/search"}


@pytest.mark.parametrize("style", sorted(REQUESTS))
async def test_api_source_syncs_incrementally(
    client: httpx.AsyncClient, tenant: Tenant, api: tuple[FakeApi, str], style: str
) -> None:
    state, base = api
    config = _config(style, state, base)
    source = await create_source(client, tenant, name=f"KB {style}", type="api", config=config)

    first = await sync_and_wait(client, tenant, source["id"])
    assert first["status"] == "succeeded", first
    assert counts(first) == {"added": 5}
    assert state.hits[PATHS[style]] == REQUESTS[style]
    docs = {d["external_id"]: d for d in await source_documents(client, tenant, source["id"])}
    assert set(docs) == {"1", "2", "3", "4", "5"}
    assert docs["2"]["title"] == "Article 2"
    assert docs["2"]["url"] == "https://kb.example/articles/2"
    assert docs["2"]["metadata"] == {
        "author": "Author 2",
        "first_tag": "kb",
        "updated_at": "2026-01-02T09:30:00+00:00",
    }
    chunks = await client.get(f"/v1/documents/{docs['2']['id']}/chunks", headers=tenant.headers)
    text_2 = " ".join(c["content"] for c in chunks.json())
    assert "Beekeepers harvest honey" in text_2
    assert "words: 8" in text_2  # the nested object, rendered as readable lines
    kept = await chunk_ids(client, tenant, docs["1"]["id"])

    state.records[1] = article(2, "Beekeepers harvest honey in late August, wearing veils.")
    del state.records[2]  # article 3
    state.records.append(article(6, "Foxes cache food under the snow."))

    second = await sync_and_wait(client, tenant, source["id"])
    assert second["status"] == "succeeded", second
    assert counts(second) == {"added": 1, "updated": 1, "unchanged": 3, "deleted": 1}
    docs = {d["external_id"]: d for d in await source_documents(client, tenant, source["id"])}
    assert set(docs) == {"1", "2", "4", "5", "6"}
    assert await chunk_ids(client, tenant, docs["1"]["id"]) == kept
    found = await client.post(
        "/v1/search",
        json={"query": "honey late August veils", "mode": "lexical"},
        headers=tenant.headers,
    )
    top = found.json()["results"][0]
    assert top["external_id"] == "2"
    assert "late August" in top["content"]


@pytest.mark.parametrize(("style", "secret"), [("page", "token"), ("offset", "api_key")])
async def test_wrong_credentials_fail_the_run_and_delete_nothing(
    client: httpx.AsyncClient, tenant: Tenant, api: tuple[FakeApi, str], style: str, secret: str
) -> None:
    state, base = api
    config = _config(style, state, base)
    source = await create_source(client, tenant, name="Locked", type="api", config=config)
    assert (await sync_and_wait(client, tenant, source["id"]))["status"] == "succeeded"

    wrong = "wrong-" + getattr(state, secret)
    changed = await client.patch(
        f"/v1/data-sources/{source['id']}",
        json={"config": {**config, "token": wrong}},
        headers=tenant.headers,
    )
    assert changed.status_code == 200, changed.text
    run = await sync_and_wait(client, tenant, source["id"])
    assert run["status"] == "failed"
    method = "POST" if style == "offset" else "GET"
    error = run["errors"][-1]["error"]
    assert error == f"HTTP 401 Unauthorized from {method} {base}{PATHS[style]}"
    assert wrong not in str(run)
    assert len(await source_documents(client, tenant, source["id"])) == 5


async def test_the_token_is_sealed_and_masked(
    client: httpx.AsyncClient, tenant: Tenant, api: tuple[FakeApi, str], runtime: Runtime
) -> None:
    state, base = api
    created = await create_source(
        client, tenant, name="Masked", type="api", config=_config("page", state, base)
    )
    assert created["config"]["token"] == source_config.MASK
    assert created["config"]["auth"] == "bearer"
    for response in (
        await client.get(f"/v1/data-sources/{created['id']}", headers=tenant.headers),
        await client.get("/v1/data-sources", headers=tenant.headers),
    ):
        assert response.status_code == 200
        assert state.token not in response.text
    async with runtime.sessionmaker() as session:
        stored = await session.scalar(
            text("SELECT config FROM data_sources WHERE id = :id"), {"id": created["id"]}
        )
    assert state.token not in str(stored)

    # The mask sent back keeps the token: the source still syncs.
    masked = {**_config("page", state, base), "token": source_config.MASK, "max_pages": 10}
    changed = await client.patch(
        f"/v1/data-sources/{created['id']}", json={"config": masked}, headers=tenant.headers
    )
    assert changed.status_code == 200, changed.text
    run = await sync_and_wait(client, tenant, created["id"])
    assert (run["status"], counts(run)) == ("succeeded", {"added": 5})


async def test_bad_records_fail_alone(
    client: httpx.AsyncClient, tenant: Tenant, api: tuple[FakeApi, str]
) -> None:
    state, base = api
    del state.records[1]["id"]
    state.records[3]["attributes"]["body"] = ""  # no content at all
    state.records[3]["attributes"]["facts"] = {}
    state.records.append(article(1, "An alpaca again, under the same id."))
    source = await create_source(
        client, tenant, name="Partial", type="api", config=_config("page", state, base)
    )
    run = await sync_and_wait(client, tenant, source["id"])
    assert run["status"] == "succeeded", run
    assert counts(run) == {"added": 3, "failed": 3}
    assert run["errors"] == [
        {"external_id": "?", "error": "record 2 of page 1 has no id at 'id'"},
        {"external_id": "4", "error": "no content at attributes.body, attributes.facts"},
        {"external_id": "1", "error": "listed twice; the first one was kept"},
    ]
    docs = {d["external_id"]: d for d in await source_documents(client, tenant, source["id"])}
    assert sorted(docs) == ["1", "3", "5"]
    chunks = await client.get(f"/v1/documents/{docs['1']['id']}/chunks", headers=tenant.headers)
    assert "Alpacas graze" in chunks.json()[0]["content"]


def _refused_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/page"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (
            {"url": "{base}/broken"},
            "records_path 'data.items' in the response from {base}/broken is a JSON object, "
            "not a list",
        ),
        (
            {"url": "{base}/html"},
            "the response from {base}/html is not JSON (text/html; charset=utf-8)",
        ),
        (
            {"url": "{base}/away", "pagination": {"type": "link"}, "records_path": ""},
            "the next-page link of {base}/away leads to another site (http://127.0.0.2:9/steal); "
            "not followed, so the credentials stay with this one",
        ),
        (
            {
                "url": "{base}/loop",
                "records_path": "results",
                "pagination": {"type": "cursor", "cursor_path": "meta.next"},
            },
            "{base}/loop pagination loops: it led back to a page already read",
        ),
        (
            {"max_pages": 2},
            "{base}/page has more than max_pages (2) pages; "
            "raise max_pages or check the pagination",
        ),
        (
            {"url": "{base}/moved"},
            "HTTP 301 Moved Permanently from GET {base}/moved "
            "(redirects are not followed; use {base}/page)",
        ),
        ({"url": "REFUSED"}, "cannot reach REFUSED: All connection attempts failed"),
    ],
    ids=["not-a-list", "not-json", "link-away", "cursor-loop", "max-pages", "moved", "refused"],
)
async def test_a_bad_listing_fails_the_run_with_one_clear_line(
    client: httpx.AsyncClient,
    tenant: Tenant,
    api: tuple[FakeApi, str],
    change: dict[str, Any],
    error: str,
) -> None:
    state, base = api
    refused = _refused_url()
    config = {**_config("page", state, base), **change}
    config["url"] = config["url"].format(base=base).replace("REFUSED", refused)
    source = await create_source(client, tenant, name="Bad", type="api", config=config)
    run = await sync_and_wait(client, tenant, source["id"])
    assert run["status"] == "failed", run
    assert run["errors"][-1]["error"] == error.format(base=base).replace("REFUSED", refused)
    assert state.token not in str(run)


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"pagination": {"type": "cursor"}}, "pagination.cursor.cursor_path: Field required"),
        ({"token": None}, "token: Value error, required when auth is 'bearer'"),
        ({"auth": "basic", "username": "u"}, "password: Value error, required when auth is"),
        ({"id_path": "data..id"}, "id_path: Value error, path 'data..id' has an empty part"),
        ({"url": "ftp://files/x"}, "url: Value error, must be an http:// or https:// URL"),
        ({"url": "https://u:p@api.example/x"}, "url: Value error, must not hold credentials"),
        ({"headers": {"Authorization": "Bearer x"}}, "headers: Value error, must not carry"),
        ({"body": {"q": 1}}, "body: Value error, is sent with method POST only"),
        ({"content_paths": []}, "content_paths: List should have at least 1 item"),
    ],
)
async def test_bad_configs_get_a_422_naming_the_field(
    client: httpx.AsyncClient, tenant: Tenant, change: dict[str, Any], detail: str
) -> None:
    state = FakeApi()
    config = {**_config("page", state, "https://api.example"), **change}
    body = {"name": "Bad", "type": "api", "config": config}
    response = await client.post("/v1/data-sources", json=body, headers=tenant.headers)
    assert response.status_code == 422, response.text
    assert detail in response.json()["detail"]
    assert state.token not in response.text


@pytest.mark.parametrize(
    ("data", "path", "expected"),
    [
        ({"a": {"b": [{"c": 7}]}}, "a.b.0.c", 7),
        ({"a": [1, 2, 3]}, "a.-1", 3),
        ({"a": [1]}, "a.1", MISSING),
        ({"a": {"0": "key"}}, "a.0", "key"),
        ({"a": None}, "a", None),
        ({"a": None}, "a.b", MISSING),
        ([{"x": 1}], "", [{"x": 1}]),
    ],
)
def test_dotted_paths(data: Any, path: str, expected: Any) -> None:
    assert resolve(data, path) == expected


def test_render_makes_nested_values_readable() -> None:
    value = {"name": "Ann", "skip": None, "ok": True, "tags": ["a", {"k": "two\nlines"}], "n": 1.5}
    assert (
        render(value) == "name: Ann\nok: true\ntags:\n  - a\n  - k:\n      two\n      lines\nn: 1.5"
    )
    assert render("  para one\n\npara two ") == "para one\n\npara two"
