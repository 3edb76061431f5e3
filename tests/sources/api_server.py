"""A small real JSON API for the `api` connector's tests: records in memory, four pagination styles.

Each endpoint demands its own kind of credentials (401 otherwise) and pages its records two at a
time, so a connector that ignores the pagination or the auth cannot pass. Tests change ``records``
between syncs and read ``hits`` to see how many requests a sync made.
"""

from __future__ import annotations

import base64
import secrets
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

PAGE = 2  # records per page wherever the client does not choose


@dataclass
class FakeApi:
    records: list[dict[str, Any]] = field(default_factory=list)
    token: str = field(default_factory=lambda: "tok-" + secrets.token_hex(8))
    api_key: str = field(default_factory=lambda: "key-" + secrets.token_hex(8))
    username: str = "reader"
    password: str = field(default_factory=lambda: "pw-" + secrets.token_hex(8))
    hits: Counter[str] = field(default_factory=Counter)


def article(number: int, body: str, **extra: Any) -> dict[str, Any]:
    """A record shaped like a typical API's: nested attributes, an author, a timestamp."""
    return {
        "id": number,
        "attributes": {
            "title": f"Article {number}",
            "body": body,
            "facts": {"words": len(body.split()), "tags": ["kb", f"n{number}"]},
        },
        "author": {"name": f"Author {number}"},
        "updated": f"2026-01-{number:02d}T09:30:00+00:00",
        **extra,
    }


def create_app(api: FakeApi) -> FastAPI:
    app = FastAPI()

    def need(request: Request, ok: bool) -> None:
        api.hits[request.url.path] += 1
        if not ok:
            raise HTTPException(401, "bad credentials")

    def bearer(request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {api.token}"

    def basic(request: Request) -> bool:
        pair = base64.b64encode(f"{api.username}:{api.password}".encode()).decode()
        return request.headers.get("authorization") == f"Basic {pair}"

    @app.get("/page")
    def by_page(
        request: Request, sort: str = "", page: int = 1, per_page: int = PAGE
    ) -> dict[str, Any]:
        need(request, bearer(request))
        if sort != "id":  # written into the source's URL: it must survive the paging params
            raise HTTPException(400, "sort=id is required")
        start = (page - 1) * per_page
        return {"data": {"items": api.records[start : start + per_page], "page": page}}

    @app.get("/cursor")
    def by_cursor(request: Request, lang: str = "", after: str | None = None) -> dict[str, Any]:
        need(request, request.headers.get("x-api-key") == api.api_key)
        if lang != "en" or request.headers.get("accept-language") != "en":
            raise HTTPException(400, "lang=en and Accept-Language: en are required")
        ids = [str(r.get("id")) for r in api.records]
        start = ids.index(after) + 1 if after else 0
        chunk = api.records[start : start + PAGE]
        more = start + PAGE < len(api.records)
        return {"results": chunk, "meta": {"next": str(chunk[-1]["id"]) if more else None}}

    @app.get("/link")
    def by_link(request: Request, response: Response, page: int = 1) -> list[dict[str, Any]]:
        need(request, basic(request))
        start = (page - 1) * PAGE
        if start + PAGE < len(api.records):
            response.headers["link"] = (
                f'</link?page={page + 1}>; rel="next", </link?page=1>; rel="first"'
            )
        return api.records[start : start + PAGE]

    @app.post("/search")
    async def by_offset(request: Request, api_key: str = "") -> dict[str, Any]:
        need(request, api_key == api.api_key)
        body = await request.json()
        if body.get("query") != "kb":
            raise HTTPException(400, "query is required")
        offset, limit = int(body["offset"]), int(body["limit"])
        return {"hits": api.records[offset : offset + limit], "total": len(api.records)}

    @app.get("/broken")
    def broken(request: Request) -> dict[str, Any]:
        need(request, bearer(request))
        return {"data": {"items": {"id": 1}}}

    @app.get("/html")
    def html(request: Request) -> PlainTextResponse:
        need(request, bearer(request))
        return PlainTextResponse("<html>maintenance</html>", media_type="text/html")

    @app.get("/away")
    def away(request: Request) -> JSONResponse:
        need(request, bearer(request))
        link = '<http://127.0.0.2:9/steal?page=2>; rel="next"'
        return JSONResponse(api.records[:PAGE], headers={"link": link})

    @app.get("/moved")
    def moved(request: Request) -> Response:
        need(request, bearer(request))
        return Response(status_code=301, headers={"location": "/page?sort=id&secret=s3"})

    @app.get("/loop")
    def loop(request: Request) -> dict[str, Any]:
        need(request, bearer(request))
        return {"results": api.records[:PAGE], "meta": {"next": "same-again"}}

    return app
