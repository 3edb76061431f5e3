"""/v1/data-sources: validation, secrets sealed at rest and masked in output, key rotation."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import text

from ragaas.runtime import Runtime
from ragaas.sources import config as source_config
from ragaas.sources.crypto import Keyring, SecretError, keyring_from, new_key_spec
from tests.conftest import Tenant
from tests.sources.helpers import create_source

PASSWORD = "s3cret-Pa55word"
URL = f"postgresql+psycopg://reader:{PASSWORD}@db.example.internal:5432/crm"


def _db_config(url: str = URL) -> dict[str, object]:
    return {
        "url": url,
        "query": "SELECT 1 AS id, 'x' AS body",
        "id_column": "id",
        "content_columns": ["body"],
    }


async def test_secrets_are_sealed_in_the_row_and_masked_in_output(
    client: httpx.AsyncClient, tenant: Tenant, runtime: Runtime
) -> None:
    created = await create_source(client, tenant, name="CRM", type="database", config=_db_config())
    assert created["config"]["url"] == source_config.MASK
    assert created["config"]["query"] == "SELECT 1 AS id, 'x' AS body"
    for response in (
        await client.get(f"/v1/data-sources/{created['id']}", headers=tenant.headers),
        await client.get("/v1/data-sources", headers=tenant.headers),
    ):
        assert PASSWORD not in response.text
        assert "reader" not in response.text

    async with runtime.sessionmaker() as session:
        raw = await session.scalar(
            text("SELECT config::text FROM data_sources WHERE id = :id"), {"id": created["id"]}
        )
    assert raw is not None
    assert PASSWORD not in raw
    assert "db.example.internal" not in raw
    assert '"url": "enc:v1:' in raw

    # Sending the mask back keeps the secret; the other fields change.
    changed = await client.patch(
        f"/v1/data-sources/{created['id']}",
        json={"config": {**_db_config(source_config.MASK), "query": "SELECT 2 AS id, 'y' AS body"}},
        headers=tenant.headers,
    )
    assert changed.status_code == 200, changed.text
    async with runtime.sessionmaker() as session:
        stored = await session.scalar(
            text("SELECT config FROM data_sources WHERE id = :id"), {"id": created["id"]}
        )
    keyring = Keyring.parse(new_key_spec("unused"))  # a different key cannot open it
    with pytest.raises(SecretError):
        keyring.open(stored["url"], tenant.organization_id)
    opened = source_config.open_(
        "database", stored, keyring_from(runtime.settings), tenant.organization_id
    )
    assert opened.url.get_secret_value() == URL  # type: ignore[attr-defined]
    assert opened.query == "SELECT 2 AS id, 'y' AS body"  # type: ignore[attr-defined]


def test_sealed_values_are_bound_to_their_organisation_and_rotate() -> None:
    old, new = new_key_spec("old"), new_key_spec("new")
    org, other = uuid.uuid4(), uuid.uuid4()
    sealed = Keyring.parse(old).seal("pw", org)
    assert Keyring.parse(old).open(sealed, org) == "pw"
    with pytest.raises(SecretError, match="another tenant"):
        Keyring.parse(old).open(sealed, other)
    tampered = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(SecretError):
        Keyring.parse(old).open(tampered, org)

    rotated = Keyring.parse(f"{new},{old}")
    stored = {"url": sealed, "query": "SELECT 1"}
    assert source_config.reseal(stored, rotated, org) == 1
    assert rotated.key_id_of(stored["url"]) == "new"
    assert Keyring.parse(new).open(stored["url"], org) == "pw"  # the old key can now go
    assert source_config.reseal(stored, rotated, org) == 0


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"name": "x", "type": "ftp", "config": {}}, "unknown data source type 'ftp'"),
        ({"name": "x", "type": "file", "config": {}}, "path: Field required"),
        ({"name": "x", "type": "file", "config": {"path": "/etc"}}, "outside the allowed roots"),
        (
            {"name": "x", "type": "database", "config": {**_db_config("not a url")}},
            "not a database URL",
        ),
        (
            {"name": "x", "type": "database", "config": _db_config(), "cron": "every day"},
            "not a valid 5-field cron",
        ),
        (
            {"name": "x", "type": "database", "config": _db_config(), "cron": "0 0 * * * *"},
            "not a valid 5-field cron",
        ),
    ],
)
async def test_bad_sources_get_a_clear_422(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, object], detail: str
) -> None:
    response = await client.post("/v1/data-sources", json=body, headers=tenant.headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert detail in response.json()["detail"]
    listed = await client.get("/v1/data-sources", headers=tenant.headers)
    assert listed.json() == []


async def test_types_describe_their_config(client: httpx.AsyncClient, tenant: Tenant) -> None:
    types = (await client.get("/v1/data-sources/types", headers=tenant.headers)).json()
    by_name = {t["type"]: t for t in types}
    assert {"file", "database"} <= set(by_name)
    assert "url" in by_name["database"]["config_schema"]["required"]
