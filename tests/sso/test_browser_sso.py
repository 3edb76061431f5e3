"""Single sign-on in the built web UI: headless Chromium (``web/e2e/sso.mjs``) clicks through a
real ``ragaas serve`` and a real OpenID provider. Missing tools fail the test, as in
tests/web/test_browser.py: a flow never exercised must not pass as "skipped"."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest

from ragaas.settings import Settings
from tests.conftest import Tenant, TenantFactory, running_serve, server_env
from tests.sso.provider import running_idp

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
SHOTS = WEB / "test-results" / "screenshots"
CHROMIUM = os.environ.get("RAGAAS_TEST_CHROMIUM", "/usr/bin/chromium")

pytestmark = pytest.mark.timeout(600)


def _node() -> str:
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


@pytest.fixture
async def tenant_for_ui(make_tenant: TenantFactory) -> Tenant:
    return await make_tenant()


def test_continue_with_sso_in_chromium(
    settings: Settings, tenant_for_ui: Tenant, tmp_path: Path
) -> None:
    node = _node()
    tenant = tenant_for_ui
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGAAS_")}
    env |= server_env(settings)
    slug = f"ui-{uuid.uuid4().hex[:10]}"
    with running_idp() as idp, running_serve(env, tmp_path) as (url, _):
        client_id, secret = idp.register_client(f"{url}/v1/auth/oidc/callback")
        idp.set_user("ui-admin", email="ui.admin@corp.test", groups=["Ragaas-Admins"])
        idp.set_user("ui-guest", email="ui.guest@corp.test", groups=["guests"])
        body = {
            "slug": slug,
            "name": "Test IdP",
            "issuer": idp.url,
            "client_id": client_id,
            "client_secret": secret,
            "group_roles": {"ragaas-admins": "admin"},
        }
        created = httpx.post(f"{url}/v1/sso/providers", json=body, headers=tenant.headers)
        assert created.status_code == 201, created.text
        assert created.json()["redirect_uri"] == f"{url}/v1/auth/oidc/callback"
        run_env = {
            **os.environ,
            "RAGAAS_URL": url,
            "IDP_URL": idp.url,
            "SSO_SLUG": slug,
            "SSO_SUB": "ui-admin",
            "SSO_EMAIL": "ui.admin@corp.test",
            "SSO_REFUSED_SUB": "ui-guest",
            "SCREENSHOTS": str(SHOTS),
            "CHROMIUM": CHROMIUM,
        }
        done = subprocess.run(
            [node, str(WEB / "e2e" / "sso.mjs")],
            cwd=WEB,
            env=run_env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert done.returncode == 0, f"browser test failed:\n{done.stdout}\n{done.stderr}"
    assert "4 passed, 0 failed" in done.stdout, done.stdout
    assert (SHOTS / "sso-3-refused.png").is_file()
