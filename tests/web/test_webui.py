"""Serving the UI bundle beside the API: files, the SPA fallback, API paths untouched, and a page
that says how to build the UI when the bundle is missing."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from starlette.routing import Match

from ragaas.app import create_app
from ragaas.settings import Settings
from ragaas.webui import API_PREFIXES, _UiRoute, default_dist, is_api_path

INDEX = '<!doctype html><div id="root"></div><script src="/assets/app-1234.js"></script>'


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text(INDEX)
    (root / "assets" / "app-1234.js").write_text("console.log('ui')")
    (tmp_path / "secret.txt").write_text("outside the bundle")
    return root


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ui.test")


async def test_the_bundle_and_client_routes_are_served(
    settings: Settings, dist: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAGAAS_WEB_DIST", str(dist))
    async with _client(create_app(settings)) as client:
        for path in ("/", "/ask", "/documents/0b5c0c9e-1111-2222-3333-444455556666"):
            page = await client.get(path)
            assert page.status_code == 200, path
            assert page.text == INDEX
            assert page.headers["cache-control"] == "no-cache"
        asset = await client.get("/assets/app-1234.js")
        assert asset.text == "console.log('ui')"
        assert "immutable" in asset.headers["cache-control"]
        assert (await client.get("/assets/missing-5678.js")).status_code == 404
        escaped = await client.get("/assets/..%2F..%2Fsecret.txt")
        assert "outside the bundle" not in escaped.text


async def test_api_paths_never_reach_the_ui(
    settings: Settings, dist: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAGAAS_WEB_DIST", str(dist))
    async with _client(create_app(settings)) as client:
        unknown = await client.get("/v1/no-such-thing")
        assert unknown.status_code == 404
        assert unknown.headers["content-type"] == "application/problem+json"
        schema = await client.get("/openapi.json")
        assert schema.json()["info"]["title"] == "Ragaas"
        assert "/{path}" not in schema.json()["paths"]
        docs = await client.get("/docs")
        assert "swagger" in docs.text.lower()
        refused = await client.post("/ask")
        assert refused.status_code == 405
    # The catch-all declines API paths, so a route or mount added after it still gets them.
    route = _UiRoute("/{path:path}", lambda r: None, methods=["GET"])
    for path in ("/mcp", "/v1/chat", "/health", "/ready", "/metrics", "/openapi.json"):
        scope = {"type": "http", "path": path, "method": "GET", "root_path": ""}
        assert route.matches(scope)[0] is Match.NONE, path
    ui_scope = {"type": "http", "path": "/ask", "method": "GET", "root_path": ""}
    assert route.matches(ui_scope)[0] is Match.FULL
    assert is_api_path("/v1")
    assert not is_api_path("/v1x/y")
    assert {"v1", "mcp", "health", "ready", "docs", "openapi.json"} <= API_PREFIXES


async def test_a_missing_bundle_says_how_to_build_it(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAGAAS_WEB_DIST", str(tmp_path / "nowhere"))
    async with _client(create_app(settings)) as client:
        page = await client.get("/")
        assert page.status_code == 503
        assert "make install" in page.text
        assert "npm ci" in page.text
        assert (await client.get("/v1/no-such-thing")).status_code == 404


def test_the_default_bundle_is_web_dist_of_the_source_tree(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("RAGAAS_WEB_DIST", raising=False)
    assert default_dist() == Path(__file__).resolve().parents[2] / "web" / "dist"
