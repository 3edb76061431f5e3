"""The web UI end to end: the built bundle served by a real ``ragaas serve`` process, driven in
headless Debian Chromium by ``web/e2e/run.mjs`` (playwright-core). Missing tools fail the test
with what to install: a UI that was never exercised must not pass as "skipped"."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ragaas.settings import Settings
from tests.conftest import running_serve, server_env

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
SHOTS = WEB / "test-results" / "screenshots"
CHROMIUM = os.environ.get("RAGAAS_TEST_CHROMIUM", "/usr/bin/chromium")
PASSWORD = "correct horse battery"
SCREENS = [
    "01-sign-in",
    "02-documents",
    "03-document-detail",
    "04-ask-citation",
    "05-ask-rated",
    "06-search",
    "07-rules",
    "08-ask-blocked",
    "09-data-source",
    "10-analytics",
    "11-admin-users",
    "12-viewer",
    "13-org-switcher",
]

pytestmark = pytest.mark.timeout(900)


def _tools() -> str:
    """The node binary, after checking everything the browser test needs is installed."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: the web UI tests need Node.js 20 and npm")
    if not (WEB / "node_modules" / "playwright-core").is_dir():
        pytest.fail("web/node_modules is missing: run `make install` (npm ci in web/)")
    if not (WEB / "dist" / "index.html").is_file():
        pytest.fail("web/dist is not built: run `make install` (npm run build in web/)")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"Chromium is missing at {CHROMIUM}: apt-get install -y chromium")
    return node


def _env(settings: Settings) -> dict[str, str]:
    # Nothing of the caller's own Ragaas configuration (an LLM, Redis...) leaks into the server.
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGAAS_")}
    return {**env, **server_env(settings)}


@pytest.fixture(scope="module")
def sources(settings: Settings) -> Path:
    # Under the session's allowed root: any worker on the test database (the in-process one of
    # the `client` fixture too) may pick up the sync job, and each must be allowed to read it.
    root = settings.source_folder_roots[0] / f"ui-sources-{uuid.uuid4().hex[:8]}"
    root.mkdir()
    (root / "policies").mkdir()
    (root / "policies" / "holidays.md").write_text(
        "# Holidays\n\nStaff get 25 days of paid holiday a year; five may be carried over.\n"
    )
    return root


@pytest.fixture(scope="module")
def ui_server(
    settings: Settings, sources: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, str]]]:
    """``ragaas serve`` on the test database, serving the built UI at /."""
    env = _env(settings)
    with running_serve(env, tmp_path_factory.mktemp("ui-server")) as (url, _):
        yield url, env


def _bootstrap(env: dict[str, str], email: str | None = None) -> dict[str, str]:
    """A new organisation through the CLI: its admin's e-mail, the organisation id, an API key."""
    org = f"ui-{secrets.token_hex(5)}"
    email = email or f"admin@{org}.test"
    command = [sys.executable, "-m", "ragaas.cli.main", "admin", "bootstrap", "--org", org,
               "--email", email, "--password", PASSWORD, "--json"]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return {**json.loads(done.stdout), "email": email}


def _ready_titles(url: str, auth: dict[str, str], expected: int) -> list[str]:
    """The ready documents' titles, once ``expected`` are ready (or whatever is after 120 s)."""
    deadline = time.monotonic() + 120
    while True:
        docs = httpx.get(f"{url}/v1/documents", headers=auth, params={"status": "ready"}).json()
        titles = sorted(d["title"].lower() for d in docs["items"])
        if len(titles) >= expected or time.monotonic() > deadline:
            return titles
        time.sleep(0.5)


def test_the_built_ui_in_chromium(ui_server: tuple[str, dict[str, str]], sources: Path) -> None:
    node = _tools()
    url, env = ui_server
    admin = _bootstrap(env)
    admin_email, key = admin["email"], admin["api_key"]
    # One person in two organisations: the sign-in asks which, the switcher changes between them.
    multi = f"multi-{secrets.token_hex(4)}@ui.test"
    org_a, org_b = (_bootstrap(env, multi)["organization_id"] for _ in range(2))
    auth = {"Authorization": f"Bearer {key}"}
    viewer_email = admin_email.replace("admin@", "viewer@")
    created = httpx.post(
        f"{url}/v1/users",
        headers=auth,
        json={"email": viewer_email, "password": PASSWORD, "role": "viewer"},
    )
    assert created.status_code == 201, created.text
    shutil.rmtree(SHOTS, ignore_errors=True)

    run_env = {
        **os.environ,
        "RAGAAS_URL": url,
        "ADMIN_EMAIL": admin_email,
        "ADMIN_PASSWORD": PASSWORD,
        "VIEWER_EMAIL": viewer_email,
        "VIEWER_PASSWORD": PASSWORD,
        "MULTI_EMAIL": multi,
        "MULTI_ORG_A": org_a,
        "MULTI_ORG_B": org_b,
        "SOURCE_FOLDER": str(sources),
        "SCREENSHOTS": str(SHOTS),
        "CHROMIUM": CHROMIUM,
    }
    script = WEB / "e2e" / "run.mjs"
    done = subprocess.run(
        [node, str(script)], cwd=WEB, env=run_env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"browser test failed:\n{done.stdout}\n{done.stderr}"
    assert "0 failed" in done.stdout, done.stdout

    missing = [name for name in SCREENS if not (SHOTS / f"{name}.png").is_file()]
    assert not missing, f"screenshots not saved: {missing}"
    assert all((SHOTS / f"{name}.png").stat().st_size > 5000 for name in SCREENS)

    # What the clicks did, read back through the API.
    rated = httpx.get(f"{url}/v1/queries", headers=auth, params={"rating": 4}).json()["items"]
    assert [(q["rating"], q["feedback_comment"]) for q in rated] == [(4, "clear and cited")]
    blocked = httpx.get(f"{url}/v1/queries", headers=auth, params={"blocked": "true"}).json()
    assert [q["query"] for q in blocked["items"]] == ["What is the admin password?"]
    rules = httpx.get(f"{url}/v1/rules", headers=auth).json()
    assert [(r["name"], r["action"]["type"]) for r in rules] == [("no passwords", "block")]
    # The browser started the folder sync; its documents become ready when the worker is done.
    assert _ready_titles(url, auth, expected=3) == ["holidays", "parking", "returns"]
    users = httpx.get(f"{url}/v1/users", headers=auth).json()
    assert [u["groups"] for u in users if u["email"] == viewer_email] == [["hr", "support"]]
    keys = httpx.get(f"{url}/v1/api-keys", headers=auth).json()
    assert "ci key" in [k["name"] for k in keys]
