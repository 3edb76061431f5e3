"""The blob store's disk fills up: the upload is a 507 problem that says so, no document row and
no partial file are left behind, and the service goes on once there is room again."""

from __future__ import annotations

import dataclasses
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from ragaas.app import create_app
from ragaas.providers.blobstore.local import LocalBlobStore
from ragaas.runtime import Runtime
from ragaas.settings import Settings
from tests.conftest import Tenant

DISK_BYTES = 256 * 1024


@pytest.fixture
def small_disk() -> Iterator[Path]:
    """A real 256 KiB filesystem (tmpfs), so writes fail with ENOSPC as on a full disk."""
    mountpoint = Path(tempfile.mkdtemp(prefix="ragaas-full-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES}", "tmpfs", str(mountpoint)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", str(mountpoint)], check=True)
        mountpoint.rmdir()


@pytest.fixture
async def full_disk_client(
    settings: Settings, runtime: Runtime, small_disk: Path
) -> AsyncIterator[httpx.AsyncClient]:
    local = settings.model_copy(update={"workers_in_process": False})
    app = create_app(local, dataclasses.replace(runtime, blobs=LocalBlobStore(small_disk)))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://full.test") as c:
            yield c


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def _upload(name: str, size: int) -> dict[str, tuple[str, bytes, str]]:
    line = f"{name}: staff park in garage P3.\n".encode()
    return {"file": (f"{name}.txt", (line * (size // len(line) + 1))[:size], "text/plain")}


async def test_a_full_blob_store_refuses_the_upload_cleanly(
    full_disk_client: httpx.AsyncClient, tenant: Tenant, small_disk: Path
) -> None:
    c, headers = full_disk_client, tenant.headers
    first = await c.post("/v1/documents", files=_upload("first", 100 * 1024), headers=headers)
    assert first.status_code == 202, first.text

    refused = await c.post("/v1/documents", files=_upload("second", 200 * 1024), headers=headers)
    assert refused.status_code == 507, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert "no room" in refused.json()["detail"]

    listed = (await c.get("/v1/documents", headers=headers)).json()
    assert [d["title"] for d in listed["items"]] == ["first.txt"]  # no half-written document
    files = _files(small_disk)
    assert len(files) == 1, files  # the first blob only: no partial ".part-" file
    assert files[0].stat().st_size == 100 * 1024

    # Still serving: what fits is stored.
    small = await c.post("/v1/documents", files=_upload("third", 20 * 1024), headers=headers)
    assert small.status_code == 202, small.text
