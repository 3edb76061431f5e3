"""Answering ACME http-01 challenges: from a webroot that nginx serves, or a built-in server.

The CA fetches ``http://<domain>/.well-known/acme-challenge/<token>`` on port 80 and expects the
key authorisation as the body. Behind nginx, the port-80 server serves that path from a
directory (deploy/nginx/nginx.conf), so the answer is a file there; without a web server, a tiny
HTTP server answers on the port itself.
"""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self

CHALLENGE_PATH = "/.well-known/acme-challenge/"
TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")  # base64url, as RFC 8555 §8.3 requires


class Responder(Protocol):
    """Publishes key authorisations while an order is validated."""

    def publish(self, token: str, validation: str) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


def _check_token(token: str) -> str:
    if not TOKEN.match(token):
        raise ValueError("an ACME token must be base64url")  # never a path outside the root
    return token


class WebrootResponder:
    """Writes each answer to ``root/.well-known/acme-challenge/<token>``; removes them after."""

    def __init__(self, root: Path) -> None:
        self.directory = root / CHALLENGE_PATH.strip("/")
        self._written: list[Path] = []

    def __enter__(self) -> Self:
        self.directory.mkdir(parents=True, exist_ok=True)
        return self

    def publish(self, token: str, validation: str) -> None:
        path = self.directory / _check_token(token)
        path.write_text(validation)
        path.chmod(0o644)  # read by nginx's workers, another user
        self._written.append(path)

    def __exit__(self, *_: object) -> None:
        for path in self._written:
            path.unlink(missing_ok=True)


class StandaloneResponder:
    """An HTTP server on ``port`` that answers the challenge path only, while in use."""

    def __init__(self, port: int, host: str = "") -> None:
        self.address = (host, port)
        self.answers: dict[str, str] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Self:
        answers = self.answers

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                token = self.path.split("?", 1)[0].removeprefix(CHALLENGE_PATH)
                body = answers.get(token) if self.path.startswith(CHALLENGE_PATH) else None
                data = (body or "not found").encode()
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(self.address, Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def publish(self, token: str, validation: str) -> None:
        self.answers[_check_token(token)] = validation

    def __exit__(self, *_: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
