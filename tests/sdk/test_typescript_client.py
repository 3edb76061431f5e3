"""The TypeScript SDK (sdk/typescript): its generated types are current, it builds with tsc, and
its node:test suite passes against a real ``ragaas serve`` process with a bootstrapped key.

Needs Node.js 20+ and npm (CI has them): without npm these tests fail, they do not skip.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from ragaas.settings import Settings
from tests.conftest import server_env
from tests.sdk.conftest import PASSWORD

SDK = Path(__file__).resolve().parents[2] / "sdk" / "typescript"
REGENERATE = (
    "python -m ragaas.cli.main openapi > sdk/typescript/openapi.json && "
    "(cd sdk/typescript && npm run generate)"
)


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    """Run in the SDK folder; on failure, fail with the command's whole output."""
    result = subprocess.run(
        command, cwd=SDK, capture_output=True, text=True, timeout=600, check=False
    )
    output = f"$ {shlex.join(command)}\n{result.stdout}\n{result.stderr}"
    assert result.returncode == 0, output
    return result


@pytest.fixture(scope="module")
def npm() -> str:
    """npm, after ``npm ci`` and ``npm run build`` of the SDK."""
    found = shutil.which("npm")
    if found is None:
        pytest.fail("npm is not installed: the TypeScript SDK tests need Node.js 20+ and npm")
    _run([found, "ci", "--no-audit", "--no-fund"])
    _run([found, "run", "build"])
    return found


def test_committed_openapi_json_is_the_servers_document() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ragaas.cli.main", "openapi"],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    document = json.loads(result.stdout)
    assert document["info"]["title"] == "Ragaas"
    committed = (SDK / "openapi.json").read_text()
    assert committed == result.stdout, f"sdk/typescript/openapi.json is stale: run {REGENERATE}"


def test_schema_ts_is_generated_from_openapi_json(npm: str, tmp_path: Path) -> None:
    script = json.loads((SDK / "package.json").read_text())["scripts"]["generate"]
    args = shlex.split(script)
    output = tmp_path / "schema.ts"
    args[args.index("src/schema.ts")] = str(output)
    _run([str(SDK / "node_modules" / ".bin" / args[0]), *args[1:]])
    assert (SDK / "src" / "schema.ts").read_text() == output.read_text(), (
        f"sdk/typescript/src/schema.ts is stale: run {REGENERATE}"
    )


def test_typescript_client_bootstrap_ingest_ask(npm: str, server: str, settings: Settings) -> None:
    org = f"ts-{uuid.uuid4().hex[:10]}"
    env = {
        **os.environ,
        **server_env(settings),
    }
    bootstrap = subprocess.run(
        [sys.executable, "-m", "ragaas.cli.main", "admin", "bootstrap", "--org", org,
         "--email", f"admin@{org}.test", "--password", PASSWORD, "--json"],
        capture_output=True, text=True, timeout=300, env=env, check=False,
    )  # fmt: skip
    assert bootstrap.returncode == 0, bootstrap.stderr
    key = json.loads(bootstrap.stdout)["api_key"]

    node_env = {**os.environ, "RAGAAS_URL": server, "RAGAAS_API_KEY": key}
    result = subprocess.run(
        ["node", "--test", "dist/test/client.test.js"],
        cwd=SDK, capture_output=True, text=True, timeout=600, env=node_env, check=False,
    )  # fmt: skip
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    assert "# fail 0" in report, report
    assert "# pass 8" in report, report
