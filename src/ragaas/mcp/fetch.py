"""Fetching a web page or file for ``ingest_url``: http(s) only, size-capped, redirects checked.

The server makes the request, so a caller could point it at addresses only the server can reach.
Every connection (each redirect hop too) goes through the egress guard (security/egress.py):
private, loopback, link-local and reserved addresses are refused unless an admin allow-listed
them in RAGAAS_EGRESS_ALLOW (e.g. an intranet), and the checked address is the one connected to.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urljoin, urlsplit

import httpx

from ragaas.errors import PayloadTooLarge, Unprocessable
from ragaas.security.egress import EgressPolicy, EgressRefused

MAX_REDIRECTS = 5
TIMEOUT_SECONDS = 30.0
USER_AGENT = "Ragaas-MCP/1.0 (+ingest_url)"


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    data: bytes
    content_type: str
    filename: str | None


async def fetch(url: str, max_bytes: int, egress: EgressPolicy | None = None) -> Fetched:
    """The body at ``url``; a clear ``AppError`` for a bad URL, an HTTP error or a large body."""
    egress = egress or EgressPolicy()
    try:
        return await _fetch(url, max_bytes, egress)
    except EgressRefused as exc:
        raise Unprocessable(str(exc)) from None
    except httpx.TimeoutException:
        raise Unprocessable(f"fetching {url} timed out after {TIMEOUT_SECONDS:g} s") from None
    except httpx.TransportError as exc:
        raise Unprocessable(f"fetching {url} failed: {exc or type(exc).__name__}") from None


async def _fetch(url: str, max_bytes: int, egress: EgressPolicy) -> Fetched:
    async with httpx.AsyncClient(
        timeout=TIMEOUT_SECONDS,
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT},
        transport=egress.transport(),  # pinned, checked addresses (security/egress.py)
    ) as client:
        for _ in range(MAX_REDIRECTS + 1):
            await check_url(url, egress)
            async with client.stream("GET", url) as response:
                if response.is_redirect and "location" in response.headers:
                    url = urljoin(url, response.headers["location"])
                    continue
                if response.status_code >= 400:
                    raise Unprocessable(f"fetching {url} failed: HTTP {response.status_code}")
                data = await _read_capped(response, max_bytes)
                return Fetched(url, data, _content_type(response, url), _filename(url))
    raise Unprocessable(f"fetching the URL took more than {MAX_REDIRECTS} redirects")


async def check_url(url: str, egress: EgressPolicy | None = None) -> None:
    """Refuse anything but http(s), and hosts the egress policy refuses (every address)."""
    egress = egress or EgressPolicy()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise Unprocessable("only http:// and https:// URLs can be ingested")
    if not parts.hostname:
        raise Unprocessable(f"{url!r} has no host")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        await egress.check_host(parts.hostname, port)
    except EgressRefused as exc:
        raise Unprocessable(str(exc)) from None


async def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(f"the URL's body is {declared} bytes; the limit is {max_bytes}")
    body = bytearray()
    async for piece in response.aiter_bytes():
        body.extend(piece)
        if len(body) > max_bytes:
            raise PayloadTooLarge(f"the URL's body is larger than the limit of {max_bytes} bytes")
    return bytes(body)


def _content_type(response: httpx.Response, url: str) -> str:
    declared: str = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if declared and declared != "application/octet-stream":
        return declared
    guessed: str | None = mimetypes.guess_type(urlsplit(url).path)[0]
    return guessed or "text/html"


def _filename(url: str) -> str | None:
    name = PurePosixPath(urlsplit(url).path).name
    return name or None
