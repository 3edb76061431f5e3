"""No secret in any log of the whole test run (issue 9): a pytest plugin.

Every log record the test process emits at INFO and above, and the log file of every ``ragaas``
subprocess server the tests start, is checked for anything shaped like a credential: a whole API
key, a JWT, the test accounts' password, the run's JWT secret, the local LLM's key. A leak fails
the run at the end, naming the test, the logger and the line. The check sees the raw record,
before the log formatter's scrubbing (``kit/logs.py``), so it proves the code does not log secrets
rather than that the scrubber hides them. Under pytest-xdist each worker scans its own records
and servers, and hands what it found to the controller, which fails the run.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

import pytest

_SHAPES = [
    re.compile(r"\brg_[0-9a-f]{12}_[A-Za-z0-9_-]{20,}"),  # a whole API key (prefix + secret)
    re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}"),  # a JWT
]


@dataclass
class Leaks:
    literals: set[str] = field(default_factory=set)
    found: list[str] = field(default_factory=list)
    test: str = "(collection)"

    def check(self, source: str, text: str) -> None:
        for line in text.splitlines():
            if any(s.search(line) for s in _SHAPES) or any(v in line for v in self.literals):
                self.found.append(f"{self.test} [{source}]: {line[:300]}")


LEAKS = Leaks()


def register_secret(value: str) -> None:
    """A secret of this run that must never appear in a log (e.g. the JWT secret, a password)."""
    if len(value) >= 8:
        LEAKS.literals.add(value)


class _Catcher(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
            if record.exc_info:
                text += "\n" + logging.Formatter().formatException(record.exc_info)
        except Exception:  # a record that cannot be formatted is not ours to judge
            return
        LEAKS.check(record.name, text)


_CATCHER = _Catcher(level=logging.INFO)
_WORKER_KEY = "ragaas_log_leaks"


def pytest_configure(config: pytest.Config) -> None:
    logging.getLogger().setLevel(logging.INFO)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    LEAKS.test = item.nodeid
    root = logging.getLogger()
    if _CATCHER not in root.handlers:  # a `configure_logging` call replaces root's handlers
        root.addHandler(_CATCHER)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """Under pytest-xdist (controller side): a worker's leaks join the run's, so a leak in any
    worker's logs fails the whole run and is listed in its summary."""
    LEAKS.found.extend(getattr(node, "workeroutput", {}).get(_WORKER_KEY, []))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: hand the leaks to the controller
        workeroutput[_WORKER_KEY] = list(LEAKS.found)
    if LEAKS.found:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if LEAKS.found:
        terminalreporter.section("secrets in logs", red=True)
        for leak in LEAKS.found[:50]:
            terminalreporter.write_line(leak)
