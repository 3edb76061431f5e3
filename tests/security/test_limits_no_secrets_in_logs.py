"""No secret in the logs: a real ``ragaas serve`` at DEBUG level goes through sign-in, token
refresh and logout, API key and user creation, a data source with a password (whose sync fails),
a chat answered by an LLM that needs a key and a password change; its whole log must contain
none of the passwords, API keys, JWTs, source secret, LLM key or JWT signing key."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from pathlib import Path

import httpx
import pytest

from ragaas.kit.logs import scrub
from ragaas.settings import Settings
from tests.conftest import (
    LOCAL_LLM_KEY,
    TenantFactory,
    running_serve,
    server_env,
    wait_for_document,
)

SOURCE_PASSWORD = "S0urce-Pa55word-" + uuid.uuid4().hex[:8]
NEW_USER_PASSWORD = "new user passphrase " + uuid.uuid4().hex[:6]
NEW_PASSWORD = "changed passphrase " + uuid.uuid4().hex[:6]
WRONG_PASSWORD = "wrong guess " + uuid.uuid4().hex[:6]


def test_scrub_replaces_credential_shapes() -> None:
    line = (
        "GET /v1/sso/callback?state=st4te&code=c0de Authorization: Bearer abcdefghijkl "
        "key rg_0123456789ab_AbCdEfGhIjKlMnOp url postgresql://u:pw1234@h/db "
        'jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl {"password": "hunter22"} '
        "api_key=k3y client_secret: s3cr3t; document state: ready"
    )
    scrubbed = scrub(line)
    for secret in ("st4te", "c0de", "abcdefghijkl", "AbCdEfGhIjKlMnOp", "pw1234", "c2lnbmF0dXJl",
                   "hunter22", "k3y", "s3cr3t"):  # fmt: skip
        assert secret not in scrubbed, secret
    assert "document state: ready" in scrubbed  # ordinary words survive


async def _flow(c: httpx.AsyncClient, email: str, password: str, secrets: list[str]) -> None:
    assert (
        await c.post("/v1/auth/login", json={"email": email, "password": WRONG_PASSWORD})
    ).status_code == 401
    tokens = (await c.post("/v1/auth/login", json={"email": email, "password": password})).json()
    refreshed = (
        await c.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    ).json()
    secrets += [tokens["access_token"], tokens["refresh_token"], refreshed["access_token"],
                refreshed["refresh_token"]]  # fmt: skip
    h = {"Authorization": f"Bearer {refreshed['access_token']}"}
    key = (await c.post("/v1/api-keys", json={"name": "ci", "scopes": ["query"]}, headers=h)).json()
    secrets.append(key["key"])
    user = {"email": f"u-{uuid.uuid4().hex[:6]}@example.test", "password": NEW_USER_PASSWORD}
    assert (await c.post("/v1/users", json=user, headers=h)).status_code == 201
    config = {
        "url": f"postgresql+psycopg://reader:{SOURCE_PASSWORD}@db.example.invalid:5432/crm",
        "query": "SELECT 1 AS id, 'x' AS body",
        "id_column": "id",
        "content_columns": ["body"],
    }
    source = await c.post(
        "/v1/data-sources", json={"name": "CRM", "type": "database", "config": config}, headers=h
    )
    assert source.status_code == 201, source.text
    assert (
        await c.post(f"/v1/data-sources/{source.json()['id']}/sync", headers=h)
    ).status_code == 202
    text = "# Parking\n\nStaff park their cars in garage P3 on level minus two.\n"
    doc = await c.post("/v1/documents", json={"title": "Parking", "text": text}, headers=h)
    assert (await wait_for_document(c, h, doc.json()["id"], 180))["status"] == "ready"
    chat = await c.post("/v1/chat", json={"query": "Where do staff park?"}, headers=h)
    assert chat.status_code == 200, chat.text
    assert (
        chat.json()["metrics"]["llm_model"]
        if "llm_model" in chat.json().get("metrics", {})
        else True
    )
    bad = {"Authorization": f"Bearer {tokens['access_token'][:-4]}AAAA"}
    assert (await c.get("/v1/auth/me", headers=bad)).status_code == 401
    change = {"current_password": password, "new_password": NEW_PASSWORD}
    assert (await c.post("/v1/auth/password", json=change, headers=h)).status_code == 200
    assert (
        await c.post("/v1/auth/logout", json={"refresh_token": refreshed["refresh_token"]})
    ).status_code in (204, 401)
    await asyncio.sleep(2)  # let the failed sync log what it logs


@pytest.mark.timeout(600)
async def test_a_representative_flow_logs_no_secret(
    settings: Settings,
    make_tenant: TenantFactory,
    local_llm_url: str,
    tmp_path: Path,
) -> None:
    tenant = await make_tenant()
    env = {
        **os.environ,
        **server_env(settings),
        "RAGAAS_LOG_LEVEL": "DEBUG",
        "RAGAAS_LOG_JSON": "true",
        "RAGAAS_LLM_BASE_URL": local_llm_url,
        "RAGAAS_LLM_MODEL": "SmolLM2-135M-Instruct",
        "RAGAAS_LLM_API_KEY": LOCAL_LLM_KEY,
    }
    secrets = [tenant.password, tenant.api_key, SOURCE_PASSWORD, NEW_USER_PASSWORD, NEW_PASSWORD,
               WRONG_PASSWORD, LOCAL_LLM_KEY, env["RAGAAS_JWT_SECRET"]]  # fmt: skip
    with running_serve(env, tmp_path) as (url, log):
        async with httpx.AsyncClient(base_url=url, timeout=120) as c:
            await _flow(c, tenant.email, tenant.password, secrets)
    text = log.read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    # The log is not empty: requests and debug lines were logged.
    assert any("POST /v1/auth/login" in line["message"] for line in lines), text[-2000:]
    assert any(line["level"] == "DEBUG" for line in lines)
    leaked = [s for s in secrets if s in text]
    assert leaked == [], f"secrets in the log: {[s[:6] + '…' for s in leaked]}"
    # Token-shaped strings of any kind are absent too (JWTs, API keys).
    assert "eyJ" not in text
    assert "rg_" not in text.replace("ragaas", "")
