"""Schemathesis over the app's own /openapi.json: every operation, fuzzed as an organisation admin
with valid (positive) and invalid (negative) inputs, against a real ``ragaas serve`` subprocess.

No response may be a 5xx, and every response must be one the schema declares: status code,
content type and body shape. The budget is fixed and derandomized, so a run is reproducible and
bounded (a few examples per operation and mode)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hypothesis
import hypothesis.errors
import schemathesis
from hypothesis import HealthCheck
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ragaas.settings import Settings
from tests.conftest import Tenant, running_serve, server_env

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
# Fixed for CI (the whole test takes under two minutes on two cores); set RAGAAS_FUZZ_EXAMPLES
# for a deeper run (still derandomized: the same number gives the same cases).
EXAMPLES_PER_MODE = int(os.environ.get("RAGAAS_FUZZ_EXAMPLES", "10"))

# Operations left out, each with its reason. Nothing else is excluded.
EXCLUDED: dict[str, str] = {}


def _budget() -> hypothesis.settings:
    return hypothesis.settings(
        max_examples=EXAMPLES_PER_MODE,
        derandomize=True,  # the same cases every run: a CI failure reproduces locally
        database=None,
        deadline=None,
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],  # no shrinking: bounded
        suppress_health_check=list(HealthCheck),
    )


def _fuzz_operation(operation: Any, mode: GenerationMode, call: Callable[[Any], None]) -> None:
    @_budget()
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        call(case)

    run()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, FailureGroup):
        return exc.message  # the failures, the response and a curl command reproducing it
    if isinstance(exc, BaseExceptionGroup):
        return "\n".join(_describe(e) for e in exc.exceptions) or str(exc)
    return f"{type(exc).__name__}: {exc}"


def _fuzz(url: str, headers: dict[str, str]) -> list[str]:
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    failures: list[str] = []

    def call(case: Any) -> None:
        case.call_and_validate(base_url=url, headers=headers, checks=CHECKS, timeout=60)

    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.label in EXCLUDED:
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz_operation(operation, mode, call)
            except hypothesis.errors.Unsatisfiable:
                pass  # no invalid input exists for an operation that takes none
            except (Exception, BaseExceptionGroup) as exc:  # all operations' failures, together
                failures.append(f"--- {operation.label} ({mode.value})\n{_describe(exc)}")
    return failures


async def test_every_operation_survives_fuzzing(
    settings: Settings, tenant: Tenant, tmp_path: Path
) -> None:
    with running_serve({**os.environ, **server_env(settings)}, tmp_path) as (url, log):
        failures = await asyncio.to_thread(_fuzz, url, tenant.headers)
        assert not failures, "\n".join(failures) + "\n\nserver log:\n" + log.read_text()[-4000:]
