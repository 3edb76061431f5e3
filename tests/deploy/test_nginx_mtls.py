"""Real nginx (Debian's package) in front of a real ``ragaas serve`` with mTLS between them.

The nginx configuration under test is deploy/nginx/nginx.conf itself, with only the
Compose-specific lines (ports, paths, the upstream address, the worker user) rewritten for an
unprivileged run on 127.0.0.1; each rewrite must match exactly once, so the test breaks when the
shipped file drifts. Certificates come from ``ragaas certs init``; the "public" certificate is
signed by the same private CA so the client can verify it.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

from ragaas.certs.pki import CertPaths, init_mtls, issue_leaf, load_ca, write_private
from ragaas.settings import Settings
from tests.conftest import Tenant, free_port, serve_in_thread, server_env, wait_for_document

ROOT = Path(__file__).resolve().parents[2]
NGINX_CONF = ROOT / "deploy" / "nginx" / "nginx.conf"
NGINX = "/usr/sbin/nginx"
WORD_DELAY = 0.4  # seconds between the fake model's words: long enough to see buffering
REPLY = "Staff park their cars in garage P3 [1]."


def _ensure_nginx() -> str:
    if not Path(NGINX).exists():
        if shutil.which("apt-get") is None or os.geteuid() != 0:
            pytest.fail("nginx is missing: install Debian's nginx (apt-get install -y nginx)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        done = subprocess.run(
            ["apt-get", "install", "-y", "nginx"], env=env, capture_output=True, text=True
        )
        if done.returncode != 0 or not Path(NGINX).exists():
            pytest.fail(f"could not install nginx with apt-get:\n{done.stderr[-2000:]}")
    return NGINX


@dataclass(frozen=True)
class Pki:
    mtls: CertPaths
    public_dir: Path

    def client_context(self, *, with_client_cert: bool) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.mtls.ca_cert))
        if with_client_cert:
            context.load_cert_chain(self.mtls.client_cert, self.mtls.client_key)
        return context


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    base = tmp_path_factory.mktemp("certs")
    paths, written = init_mtls(base / "mtls", ["api"])
    assert written
    assert init_mtls(base / "mtls", ["api"]) == (paths, False)  # idempotent: kept as is
    public = issue_leaf(load_ca(paths), "localhost", server=True, names=["localhost", "127.0.0.1"])
    (base / "fullchain.pem").write_bytes(public.cert_pem())
    write_private(base / "privkey.pem", public.key_pem())
    return Pki(paths, base)


def _slow_llm() -> FastAPI:
    """An OpenAI-compatible model that streams one word every WORD_DELAY seconds."""
    app = FastAPI()

    async def events(model: str) -> AsyncIterator[str]:
        for word in REPLY.split(" "):
            chunk = {"model": model, "choices": [{"delta": {"content": word + " "}}]}
            yield f"data: {json.dumps(chunk)}\n\n"
            await asyncio.sleep(WORD_DELAY)
        usage = {"prompt_tokens": 50, "completion_tokens": 8}
        yield f"data: {json.dumps({'model': model, 'choices': [], 'usage': usage})}\n\n"
        yield "data: [DONE]\n\n"

    @app.post("/v1/chat/completions", response_model=None)
    async def complete(body: dict[str, Any]) -> dict[str, Any] | StreamingResponse:
        if body.get("stream"):
            return StreamingResponse(events(body["model"]), media_type="text/event-stream")
        return {
            "model": body["model"],
            "choices": [{"message": {"role": "assistant", "content": REPLY}}],
            "usage": {"prompt_tokens": 50, "completion_tokens": 8},
        }

    return app


@pytest.fixture(scope="module")
def slow_llm() -> Iterator[str]:
    with serve_in_thread(_slow_llm()) as base:
        yield f"{base}/v1"


@pytest.fixture(scope="module")
def api(
    settings: Settings, pki: Pki, slow_llm: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """``ragaas serve`` over HTTPS that requires a client certificate from the private CA."""
    assert settings.jwt_secret is not None
    port = free_port()
    env = {
        **os.environ,
        **server_env(settings),
        "RAGAAS_LLM_PROVIDER": "openai",
        "RAGAAS_LLM_BASE_URL": slow_llm,
        "RAGAAS_LLM_MODEL": "slow-model",
        "RAGAAS_LLM_API_KEY": "k",
    }
    folder = tmp_path_factory.mktemp("api")
    log = folder / "serve.log"
    m = pki.mtls
    command = [
        *(sys.executable, "-m", "ragaas.cli.main", "serve", "--port", str(port)),
        *("--ssl-certfile", str(m.server_cert), "--ssl-keyfile", str(m.server_key)),
        *("--ssl-ca-certs", str(m.ca_cert)),
    ]
    url = f"https://127.0.0.1:{port}"
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, cwd=folder, stdout=out, stderr=out)
    try:
        _wait_until(
            lambda: (
                httpx.get(
                    f"{url}/ready", verify=pki.client_context(with_client_cert=True), timeout=2
                ).status_code
                == 200
            ),
            process,
            log,
        )
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_until(ready: Any, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"process exited early:\n{log.read_text()}")
        try:
            if ready():
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"process did not become ready:\n{log.read_text()}")


def render_nginx_conf(
    conf: str, *, prefix: Path, certs: Path, api_port: int, http_port: int, https_port: int
) -> str:
    """deploy/nginx/nginx.conf with its Compose-only lines pointed at this test's files/ports."""
    temp_paths = "".join(
        f"    {kind}_temp_path {prefix}/{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    rewrites = {
        "user nginx;\n": "user root;\n" if os.geteuid() == 0 else "",
        "pid /var/run/nginx.pid;\n": "",  # given on the command line
        "access_log /dev/stdout main;": f"access_log {prefix}/access.log main;",
        "error_log /dev/stderr warn;": f"error_log {prefix}/error.log info;",
        "http {\n": "http {\n" + temp_paths,
        "server api:8000;": f"server 127.0.0.1:{api_port};",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen [::]:80;\n": "",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "listen [::]:443 ssl http2;\n": "",
    }
    for old, new in rewrites.items():
        assert conf.count(old) == 1, f"nginx.conf changed: expected {old!r} exactly once"
        conf = conf.replace(old, new)
    assert "/etc/nginx/certs/mtls/client.pem" in conf
    return conf.replace("/etc/nginx/certs/", f"{certs}/")


@dataclass(frozen=True)
class Nginx:
    https: str
    http: str


@pytest.fixture(scope="module")
def nginx(api: str, pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    binary = _ensure_nginx()
    prefix = tmp_path_factory.mktemp("nginx")
    http_port, https_port = free_port(), free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(
        render_nginx_conf(
            NGINX_CONF.read_text(),
            prefix=prefix,
            certs=pki.public_dir,
            api_port=int(api.rsplit(":", 1)[1]),
            http_port=http_port,
            https_port=https_port,
        )
    )
    log = prefix / "error.log"
    check = subprocess.run(
        [binary, "-t", "-c", str(conf), "-p", str(prefix), "-e", str(log)],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, f"nginx -t rejected the config:\n{check.stderr}"
    command = [
        *(binary, "-c", str(conf), "-p", str(prefix), "-e", str(log)),
        *("-g", f"daemon off; pid {prefix}/nginx.pid;"),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    https = f"https://127.0.0.1:{https_port}"
    ca = pki.client_context(with_client_cert=False)
    try:
        _wait_until(
            lambda: httpx.get(f"{https}/health", verify=ca, timeout=2).status_code == 200,
            process,
            log,
        )
        yield Nginx(https, f"http://127.0.0.1:{http_port}")
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def test_https_through_nginx_with_the_ca(nginx: Nginx, pki: Pki) -> None:
    ca = pki.client_context(with_client_cert=False)
    response = httpx.get(f"{nginx.https}/health", verify=ca)
    assert response.status_code == 200
    assert "max-age=63072000" in response.headers["strict-transport-security"]
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{nginx.https}/health")  # the system trust store does not know our CA
    redirect = httpx.get(f"{nginx.http}/health?x=1")
    assert redirect.status_code == 301
    assert redirect.headers["location"].startswith("https://127.0.0.1")
    assert redirect.headers["location"].endswith("/health?x=1")
    assert httpx.get(f"{nginx.https}/metrics", verify=ca).status_code == 404


def _sse(lines: list[tuple[float, str]]) -> list[tuple[float, str, Any]]:
    """(arrival time, event, data) for each event, timed by the arrival of its data line."""
    events, kind = [], ""
    for at, line in lines:
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: "):
            events.append((at, kind, json.loads(line.removeprefix("data: "))))
    return events


async def test_search_and_streamed_chat_through_nginx(
    nginx: Nginx, pki: Pki, tenant: Tenant
) -> None:
    ca = pki.client_context(with_client_cert=False)
    async with httpx.AsyncClient(base_url=nginx.https, verify=ca, timeout=60) as client:
        created = await client.post(
            "/v1/documents",
            json={
                "title": "Parking",
                "text": "Staff park their cars in garage P3 on level minus two.",
                "external_id": "parking",
            },
            headers=tenant.headers,
        )
        assert created.status_code in (200, 201, 202), created.text
        document = await wait_for_document(client, tenant.headers, created.json()["id"], 180)
        assert document["status"] == "ready"

        unauthenticated = await client.post("/v1/search", json={"query": "parking"})
        assert unauthenticated.status_code == 401
        found = await client.post(
            "/v1/search", json={"query": "Where do staff park?"}, headers=tenant.headers
        )
        assert found.status_code == 200, found.text
        assert "garage P3" in json.dumps(found.json())

        lines: list[tuple[float, str]] = []
        started = time.monotonic()
        async with client.stream(
            "POST",
            "/v1/chat",
            json={"query": "Where do staff park?", "stream": True},
            headers=tenant.headers,
        ) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            async for line in response.aiter_lines():
                lines.append((time.monotonic() - started, line))

    events = _sse(lines)
    kinds = [kind for _, kind, _ in events]
    assert kinds[-1] == "done", kinds
    assert kinds.count("delta") >= 3
    assert kinds.index("delta") < kinds.index("done")
    first_delta = next(at for at, kind, _ in events if kind == "delta")
    done_at, _, done = events[-1]
    assert "garage P3" in done["answer"]
    # The model takes ~WORD_DELAY per word; a buffering proxy would deliver everything at the end.
    assert done_at - first_delta > 3 * WORD_DELAY, (first_delta, done_at)


def test_api_refuses_a_client_without_certificate(api: str, pki: Pki) -> None:
    with pytest.raises(httpx.TransportError) as refused:
        httpx.get(f"{api}/health", verify=pki.client_context(with_client_cert=False), timeout=5)
    assert isinstance(refused.value, (httpx.ConnectError, httpx.RemoteProtocolError))
    # At the TLS layer: TLS 1.2 fails in the handshake itself; under TLS 1.3 the server checks
    # the (missing) certificate after the handshake and closes without answering.
    host, port = api.removeprefix("https://").split(":")
    tls12 = pki.client_context(with_client_cert=False)
    tls12.maximum_version = ssl.TLSVersion.TLSv1_2
    with (
        socket.create_connection((host, int(port)), timeout=5) as raw,
        pytest.raises(ssl.SSLError),  # uvicorn (asyncio) drops the connection without an alert
    ):
        tls12.wrap_socket(raw, server_hostname="localhost")
    tls12.load_cert_chain(pki.mtls.client_cert, pki.mtls.client_key)  # control: same, with a cert
    with (
        socket.create_connection((host, int(port)), timeout=5) as raw,
        tls12.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        assert tls.version() == "TLSv1.2"
    tls13 = pki.client_context(with_client_cert=False)
    with (
        socket.create_connection((host, int(port)), timeout=5) as raw,
        tls13.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        assert tls.version() == "TLSv1.3"
        tls.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        try:
            answer = tls.recv(1024)
        except (ssl.SSLError, ConnectionResetError):
            answer = b""
        assert answer == b""
    with pytest.raises(httpx.TransportError):
        httpx.get(api.replace("https://", "http://") + "/health", timeout=5)  # no TLS at all


def test_api_accepts_the_client_certificate(api: str, pki: Pki) -> None:
    response = httpx.get(
        f"{api}/health", verify=pki.client_context(with_client_cert=True), timeout=5
    )
    assert response.status_code == 200
